package config

import (
	"errors"
	"fmt"

	"github.com/vishvananda/netlink"
)

// NetlinkLookup is a ValidateOptions.LookupInterface that asks the kernel, in
// the network namespace the caller runs in.
func NetlinkLookup(name string) error {
	_, err := netlink.LinkByName(name)
	var nf netlink.LinkNotFoundError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &nf):
		return fmt.Errorf("no interface %q in this network namespace", name)
	default:
		return fmt.Errorf("look up interface %q: %v", name, err)
	}
}
