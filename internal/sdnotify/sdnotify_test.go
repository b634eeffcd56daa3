package sdnotify

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// listen opens a datagram socket like systemd's and returns what it receives.
func listen(t *testing.T, name string) <-chan string {
	t.Helper()
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	got := make(chan string, 4)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			got <- string(buf[:n])
		}
	}()
	return got
}

func receive(t *testing.T, got <-chan string, want string) {
	t.Helper()
	select {
	case g := <-got:
		if g != want {
			t.Errorf("received %q, want %q", g, want)
		}
	case <-time.After(5 * time.Second):
		t.Errorf("nothing received, want %q", want)
	}
}

func TestNotify(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notify")
	got := listen(t, path)
	t.Setenv(Socket, path)
	sent, err := Notify(Ready, Status("serving on 127.0.0.1:9559"))
	if !sent || err != nil {
		t.Fatalf("Notify: %v, %v", sent, err)
	}
	receive(t, got, "READY=1\nSTATUS=serving on 127.0.0.1:9559")
	if sent, err := Notify(Stopping); !sent || err != nil {
		t.Fatalf("second Notify: %v, %v", sent, err)
	}
	receive(t, got, "STOPPING=1")
}

func TestNotifyAbstract(t *testing.T) {
	name := "@linx-sdnotify-test-" + strconv.Itoa(os.Getpid())
	got := listen(t, name)
	t.Setenv(Socket, name)
	if sent, err := Notify(Ready); !sent || err != nil {
		t.Fatalf("Notify: %v, %v", sent, err)
	}
	receive(t, got, "READY=1")
}

func TestNotifyUnset(t *testing.T) {
	t.Setenv(Socket, "")
	if sent, err := Notify(Ready); sent || err != nil {
		t.Errorf("without %s: %v, %v; want false, nil", Socket, sent, err)
	}
}

func TestNotifyErrors(t *testing.T) {
	t.Setenv(Socket, "vsock:2:1234")
	if _, err := Notify(Ready); err == nil {
		t.Error("vsock address: no error")
	}
	t.Setenv(Socket, filepath.Join(t.TempDir(), "nobody-listens"))
	if sent, err := Notify(Ready); sent || err == nil {
		t.Errorf("no listener: %v, %v; want an error", sent, err)
	}
}
