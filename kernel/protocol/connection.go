package protocol

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
)

// ErrBadConnection is returned by ReadConnection for a connection file that cannot be used.
var ErrBadConnection = errors.New("protocol: bad connection file")

// Connection is the content of a connection file: where the kernel's five sockets listen
// and the key that signs messages.
type Connection struct {
	Transport       string `json:"transport"` // "tcp" or "ipc"
	IP              string `json:"ip"`
	ShellPort       int    `json:"shell_port"`
	IOPubPort       int    `json:"iopub_port"`
	StdinPort       int    `json:"stdin_port"`
	ControlPort     int    `json:"control_port"`
	HBPort          int    `json:"hb_port"`
	Key             string `json:"key"`
	SignatureScheme string `json:"signature_scheme"`
	KernelName      string `json:"kernel_name,omitempty"`
}

// ReadConnection reads and checks a connection file.
func ReadConnection(path string) (Connection, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Connection{}, fmt.Errorf("%w: %v", ErrBadConnection, err)
	}
	return ParseConnection(b)
}

// ParseConnection parses and checks the JSON of a connection file. A missing transport is
// "tcp", a missing ip "127.0.0.1" and a missing scheme "hmac-sha256".
func ParseConnection(b []byte) (Connection, error) {
	var c Connection
	if err := json.Unmarshal(b, &c); err != nil {
		return Connection{}, fmt.Errorf("%w: %v", ErrBadConnection, err)
	}
	if c.Transport == "" {
		c.Transport = "tcp"
	}
	if c.IP == "" {
		c.IP = "127.0.0.1"
	}
	if c.SignatureScheme == "" {
		c.SignatureScheme = "hmac-sha256"
	}
	if c.Transport != "tcp" && c.Transport != "ipc" {
		return Connection{}, fmt.Errorf("%w: transport %q (want tcp or ipc)", ErrBadConnection, c.Transport)
	}
	for name, p := range map[string]int{"shell_port": c.ShellPort, "iopub_port": c.IOPubPort,
		"stdin_port": c.StdinPort, "control_port": c.ControlPort, "hb_port": c.HBPort} {
		if p <= 0 || p > 65535 {
			return Connection{}, fmt.Errorf("%w: %s %d", ErrBadConnection, name, p)
		}
	}
	if _, err := NewSigner(c.SignatureScheme, c.Key); err != nil {
		return Connection{}, fmt.Errorf("%w: %v", ErrBadConnection, err)
	}
	return c, nil
}

// Endpoint is the address of the socket on port, as "host:port" for tcp or the socket file's
// path ("ip-port", as jupyter_client names it) for ipc.
func (c Connection) Endpoint(port int) string {
	if c.Transport == "ipc" {
		return c.IP + "-" + strconv.Itoa(port)
	}
	return net.JoinHostPort(c.IP, strconv.Itoa(port))
}
