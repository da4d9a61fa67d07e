package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The signature jupyter_client computes for the same frames and key (Session.sign is the hex
// HMAC-SHA256 of the four JSON frames):
//
//	python3 -c 'import hmac,hashlib; print(hmac.new(b"secret", b"{\"a\":1}{}{}{}", hashlib.sha256).hexdigest())'
func TestSignKnownAnswer(t *testing.T) {
	s, err := NewSigner("hmac-sha256", "secret")
	if err != nil {
		t.Fatal(err)
	}
	const want = "5439160579203ae5952244a353b0f81b6ca58a3fb44727217799b393ee79601c"
	h, p := []byte(`{"a":1}`), []byte(`{}`)
	if got := s.Sign(h, p, p, p); string(got) != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
	if !s.Verify([]byte(want), h, p, p, p) {
		t.Fatal("Verify rejects the known signature")
	}
	if s.Verify([]byte(strings.ToUpper(want[:2])+want[2:]+"00"), h, p, p, p) {
		t.Fatal("Verify accepts a longer signature")
	}
}

func TestSignerSchemes(t *testing.T) {
	for _, tc := range []struct {
		scheme string
		hexLen int
		err    bool
	}{
		{"", 64, false},
		{"hmac-sha256", 64, false},
		{"hmac-sha1", 40, false},
		{"hmac-sha512", 128, false},
		{"hmac-md5", 0, true},
	} {
		t.Run(tc.scheme, func(t *testing.T) {
			s, err := NewSigner(tc.scheme, "k")
			if tc.err {
				if !errors.Is(err, ErrUnknownScheme) {
					t.Fatalf("err = %v, want ErrUnknownScheme", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := len(s.Sign(nil, nil, nil, nil)); got != tc.hexLen {
				t.Fatalf("signature length %d, want %d", got, tc.hexLen)
			}
		})
	}
}

func TestEmptyKeyDoesNotSign(t *testing.T) {
	s, _ := NewSigner("hmac-sha256", "")
	if s.Enabled() || len(s.Sign([]byte("{}"), nil, nil, nil)) != 0 {
		t.Fatal("empty key must not sign")
	}
	if !s.Verify([]byte("anything"), nil, nil, nil, nil) {
		t.Fatal("empty key must accept any signature")
	}
}

func frames(s Signer, ids ...string) [][]byte {
	h := []byte(`{"msg_id":"m1","session":"s","username":"u","date":"2024-01-01T00:00:00Z","msg_type":"execute_request","version":"5.3"}`)
	var idf [][]byte
	for _, id := range ids {
		idf = append(idf, []byte(id))
	}
	return Encode(idf, h, []byte(`{}`), []byte(`{}`), []byte(`{"code":"1+2"}`), [][]byte{[]byte("buf")}, s)
}

func TestDecodeRoundTrip(t *testing.T) {
	s, _ := NewSigner("hmac-sha256", "key")
	m, err := Decode(frames(s, "id1", "id2"), s)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Identities) != 2 || string(m.Identities[1]) != "id2" {
		t.Errorf("identities %q", m.Identities)
	}
	if m.Header.MsgType != "execute_request" || m.Header.MsgID != "m1" {
		t.Errorf("header %+v", m.Header)
	}
	if !bytes.HasPrefix(m.RawHeader, []byte(`{"msg_id":"m1"`)) {
		t.Errorf("raw header not kept as received: %s", m.RawHeader)
	}
	var c ExecuteRequest
	if err := json.Unmarshal(m.Content, &c); err != nil || c.Code != "1+2" {
		t.Errorf("content %s: %v", m.Content, err)
	}
	if len(m.Buffers) != 1 || string(m.Buffers[0]) != "buf" {
		t.Errorf("buffers %q", m.Buffers)
	}
}

func TestDecodeRejects(t *testing.T) {
	s, _ := NewSigner("hmac-sha256", "key")
	other, _ := NewSigner("hmac-sha256", "other")
	good := frames(s, "id")
	tamper := func(i int, b string) [][]byte {
		f := append([][]byte(nil), good...)
		f[i] = []byte(b)
		return f
	}
	manyIDs := make([][]byte, MaxIdentities+1)
	for i := range manyIDs {
		manyIDs[i] = []byte("x")
	}
	for _, tc := range []struct {
		name   string
		frames [][]byte
		want   error
	}{
		{"wrong key", frames(other, "id"), ErrBadSignature},
		{"tampered content", tamper(6, `{"code":"2+2"}`), ErrBadSignature},
		{"not hex", tamper(2, "zz"), ErrBadSignature},
		{"no delimiter", good[2:], ErrNoDelimiter},
		{"short", good[:5], ErrShortMessage},
		{"too many identities", append(manyIDs, good[1:]...), ErrTooManyIdentities},
		{"empty", nil, ErrNoDelimiter},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Decode(tc.frames, s); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestDecodeBadJSON(t *testing.T) {
	var s Signer // no key: only the JSON is checked
	h := []byte(`{"msg_id":"m","msg_type":"t"}`)
	for _, tc := range []struct {
		name                 string
		header, parent, meta string
		content              string
		want                 error
	}{
		{"array content", string(h), "{}", "{}", "[]", ErrBadJSON},
		{"empty parent", string(h), "", "{}", "{}", ErrBadJSON},
		{"truncated", string(h), "{}", "{", "{}", ErrBadJSON},
		{"no msg_type", `{"msg_id":"m"}`, "{}", "{}", "{}", ErrBadHeader},
		{"header types", `{"msg_id":1,"msg_type":"t"}`, "{}", "{}", "{}", ErrBadJSON},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := [][]byte{[]byte(Delimiter), nil, []byte(tc.header), []byte(tc.parent), []byte(tc.meta), []byte(tc.content)}
			if _, err := Decode(f, s); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestEncodeFraming(t *testing.T) {
	s, _ := NewSigner("", "k")
	f := Encode([][]byte{[]byte("a")}, []byte(`{"h":1}`), nil, nil, nil, nil, s)
	if len(f) != 7 {
		t.Fatalf("%d frames, want 7", len(f))
	}
	if string(f[1]) != Delimiter || string(f[4]) != "{}" || string(f[5]) != "{}" || string(f[6]) != "{}" {
		t.Fatalf("frames %q", f)
	}
	if !s.Verify(f[2], f[3], f[4], f[5], f[6]) {
		t.Fatal("signature does not verify")
	}
}

func TestHeader(t *testing.T) {
	h := NewHeader("status", "sess")
	if h.Version != "5.3" || h.MsgType != "status" || h.Session != "sess" || h.Username == "" {
		t.Fatalf("header %+v", h)
	}
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(h.MsgID) {
		t.Fatalf("msg_id %q is not a v4 UUID", h.MsgID)
	}
	if NewID() == NewID() {
		t.Fatal("ids repeat")
	}
}

func TestDateHasSixFractionalDigits(t *testing.T) {
	for _, tm := range []time.Time{
		time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC),
		time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.FixedZone("x", 3600)),
	} {
		d := Date(tm)
		if !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$`).MatchString(d) {
			t.Errorf("Date(%v) = %q", tm, d)
		}
	}
	if got := Date(time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.FixedZone("x", 3600))); got != "2024-05-06T06:08:09.123456Z" {
		t.Errorf("got %q", got)
	}
}

func TestParseConnection(t *testing.T) {
	good := `{"shell_port":1,"iopub_port":2,"stdin_port":3,"control_port":4,"hb_port":5,"key":"k","signature_scheme":"hmac-sha256","transport":"tcp","ip":"127.0.0.1"}`
	c, err := ParseConnection([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if c.Endpoint(c.ShellPort) != "127.0.0.1:1" {
		t.Errorf("endpoint %q", c.Endpoint(c.ShellPort))
	}
	c.Transport = "ipc"
	c.IP = "/tmp/k"
	if c.Endpoint(7) != "/tmp/k-7" {
		t.Errorf("ipc endpoint %q", c.Endpoint(7))
	}
	for name, bad := range map[string]string{
		"not json":  `{`,
		"no ports":  `{"key":"k"}`,
		"transport": `{"transport":"udp","shell_port":1,"iopub_port":2,"stdin_port":3,"control_port":4,"hb_port":5}`,
		"scheme":    `{"signature_scheme":"rot13","shell_port":1,"iopub_port":2,"stdin_port":3,"control_port":4,"hb_port":5}`,
		"big port":  `{"shell_port":70000,"iopub_port":2,"stdin_port":3,"control_port":4,"hb_port":5}`,
	} {
		if _, err := ParseConnection([]byte(bad)); !errors.Is(err, ErrBadConnection) {
			t.Errorf("%s: err = %v, want ErrBadConnection", name, err)
		}
	}
}

func TestExecuteRequestFlags(t *testing.T) {
	var r ExecuteRequest
	if err := json.Unmarshal([]byte(`{"code":"x"}`), &r); err != nil {
		t.Fatal(err)
	}
	if sh, st, soe := r.Flags(); !sh || !st || !soe {
		t.Errorf("defaults: %v %v %v", sh, st, soe)
	}
	json.Unmarshal([]byte(`{"code":"x","silent":true,"store_history":true,"allow_stdin":false,"stop_on_error":false}`), &r)
	if sh, st, soe := r.Flags(); sh || st || soe {
		t.Errorf("silent: %v %v %v", sh, st, soe)
	}
}

// FuzzDecode feeds Decode arbitrary frames: it must never panic, and whatever it accepts must
// encode back to frames it accepts again.
func FuzzDecode(f *testing.F) {
	s, _ := NewSigner("hmac-sha256", "key")
	join := func(fr [][]byte) []byte { return bytes.Join(fr, []byte{0}) }
	f.Add(join(frames(s, "id")))
	f.Add(join(frames(s)))
	f.Add(join(frames(Signer{}, "a", "b")))
	f.Add([]byte("<IDS|MSG>\x00\x00{}\x00{}\x00{}\x00{}"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, data []byte) {
		fr := bytes.Split(data, []byte{0})
		for _, signer := range []Signer{s, {}} {
			m, err := Decode(fr, signer)
			if err != nil {
				continue
			}
			again := Encode(m.Identities, m.RawHeader, m.ParentHeader, m.Metadata, m.Content, m.Buffers, signer)
			m2, err := Decode(again, signer)
			if err != nil {
				t.Fatalf("re-encoded message rejected: %v", err)
			}
			if m2.Header != m.Header {
				t.Fatalf("header changed: %+v vs %+v", m2.Header, m.Header)
			}
		}
	})
}

// The seed corpus holds messages that jupyter_client's Session serialized and signed with
// the key "key": Decode must accept them, signature included.
func TestDecodeJupyterClientMessages(t *testing.T) {
	s, _ := NewSigner("hmac-sha256", "key")
	for _, name := range []string{"execute_request", "input_reply", "comm_msg_buffers"} {
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", "fuzz", "FuzzDecode", name))
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.SplitN(string(b), "\n", 3)
			raw, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "[]byte("), ")"))
			if err != nil {
				t.Fatal(err)
			}
			m, err := Decode(bytes.Split([]byte(raw), []byte{0}), s)
			if err != nil {
				t.Fatal(err)
			}
			if string(m.Identities[0]) != "c0ffee" || m.Header.Version != "5.3" || !strings.HasPrefix(m.Header.MsgType, strings.SplitN(name, "_", 2)[0]) {
				t.Errorf("%+v", m.Header)
			}
			if name == "comm_msg_buffers" && (len(m.Buffers) != 1 || string(m.Buffers[0]) != "\x01\x02binary") {
				t.Errorf("buffers %q", m.Buffers)
			}
		})
	}
}
