// Package sdnotify tells the service manager about the agent's state: the
// datagram protocol of sd_notify(3), spoken directly (no libsystemd). Under a
// unit with Type=notify, systemd sets NOTIFY_SOCKET and considers the service
// started only once it receives READY=1; elsewhere NOTIFY_SOCKET is unset and
// Notify does nothing.
package sdnotify

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
)

// Socket names the environment variable holding the service manager's socket.
const Socket = "NOTIFY_SOCKET"

// States the agent sends (sd_notify(3) lists them all).
const (
	Ready    = "READY=1"    // startup finished: the service is up
	Stopping = "STOPPING=1" // shutdown began
)

// Status is a free-form status line shown by systemctl status.
func Status(s string) string { return "STATUS=" + strings.ReplaceAll(s, "\n", " ") }

// Notify sends the state lines (for example Ready, Status("serving")) in one
// datagram to the socket named by $NOTIFY_SOCKET. sent is false, with a nil
// error, when the variable is unset: the agent is not run by a service
// manager that wants to hear about it. An address starting with '@' is an
// abstract socket. The variable is left set: the agent notifies more than
// once (READY, then STOPPING).
func Notify(states ...string) (sent bool, err error) {
	addr := os.Getenv(Socket)
	if addr == "" {
		return false, nil
	}
	if len(states) == 0 {
		return false, errors.New("sdnotify: no state to send")
	}
	if addr[0] != '/' && addr[0] != '@' {
		return false, fmt.Errorf("sdnotify: %s=%q is not a unix socket path (only AF_UNIX is supported)", Socket, addr)
	}
	// Go's runtime turns a leading '@' into the abstract namespace's NUL byte.
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		return false, fmt.Errorf("sdnotify: %w", err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(strings.Join(states, "\n"))); err != nil {
		return false, fmt.Errorf("sdnotify: %w", err)
	}
	return true, nil
}
