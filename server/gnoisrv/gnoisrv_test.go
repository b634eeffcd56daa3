package gnoisrv

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/openconfig/gnoi/system"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// ONOS' stratum drivers probe reachability with System.Time (empty request).
func TestTime(t *testing.T) {
	gs := grpc.NewServer()
	New().Register(gs)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = gs.Serve(lis) }()
	defer gs.Stop()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := system.NewSystemClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	before := time.Now().UnixNano()
	resp, err := c.Time(ctx, &system.TimeRequest{})
	after := time.Now().UnixNano()
	if err != nil {
		t.Fatal(err)
	}
	if got := int64(resp.GetTime()); got < before || got > after {
		t.Errorf("time %d not within [%d, %d]", got, before, after)
	}

	_, err = c.Reboot(ctx, &system.RebootRequest{})
	if status.Code(err) != codes.Unimplemented {
		t.Errorf("Reboot: %v, want UNIMPLEMENTED", err)
	}
}
