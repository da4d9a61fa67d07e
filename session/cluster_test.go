package session

import (
	"strings"
	"testing"
)

// TestCheckURL: URLs of a hub or NATS cluster are checked before they are dialled.
func TestCheckURL(t *testing.T) {
	for _, tt := range []struct {
		url  string
		want string // "" for a good URL, else part of the error
	}{
		{"nats://127.0.0.1:4222", ""},
		{"127.0.0.1:4222", ""},
		{"nats://a:4222,nats://b:4222", ""},
		{"nats://a:4222, tls://b:4222", ""},
		{"nats://token@a:4222", ""},
		{"wss://a:443", ""},
		{"", "empty NATS URL"},
		{"http://a:4222", "the scheme must be nats, tls, ws or wss"},
		{"nats://a b:4222", "use nats://HOST:PORT"},
		{"nats://a:4222,", "no host"},
		{"nats://:4222", "no host"},
	} {
		err := CheckURL(tt.url)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("CheckURL(%q) = %v, want nil", tt.url, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("CheckURL(%q) = %v, want an error with %q", tt.url, err, tt.want)
		}
	}
}

// TestJoinLine: the join line %cluster prints has --token only when there is a token.
func TestJoinLine(t *testing.T) {
	for _, tt := range []struct{ url, token, want string }{
		{"nats://a:4222", "s3cret", "rain node --join nats://a:4222 --token s3cret"},
		{"nats://a:4222,nats://b:4222", "", "rain node --join nats://a:4222,nats://b:4222"},
	} {
		if got := joinLine(tt.url, tt.token); got != tt.want {
			t.Errorf("joinLine(%q, %q) = %q, want %q", tt.url, tt.token, got, tt.want)
		}
	}
}
