package xdp

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/link"
	"github.com/vishvananda/netlink"

	"github.com/linx-sdwan/linx/dataplane"
)

// Hitless restart. With Options.PinDir set, everything the running pipeline needs
// lives in bpffs, not in the process:
//
//	PinDir/<map>            every state map, pinned by name and reused by the next Load
//	PinDir/layout           the layout fingerprint of those maps (see pinLayout)
//	PinDir/stages-<random>  the prog array of one Load's stage programs
//	PinDir/links/<ifname>   the XDP link of each attached port
//
// A process that dies (kill -9, panic) leaves the pins behind and the XDP links
// keep running linx_xdp, whose tail calls go through its own pinned stage array:
// packets are forwarded as before with nobody at the wheel. The next Load reuses
// the maps, loads new programs with a new stage array, and Attach swaps the
// program of each pinned link with one BPF_LINK_UPDATE: a packet runs either the
// old pipeline or the new one, whole (each pipeline only tail-calls into its own
// stages and uses its own per-CPU scratch). ReleaseStale then removes what the
// earlier process pinned and this one did not take over.

// ErrIncompatiblePins is returned by Load when the maps pinned under PinDir do not
// have the layout this build's pipeline needs (a data-path upgrade that changed a
// map, or different table sizes): the running pipeline cannot be taken over.
// Stop it cleanly (Close, then RemovePins) and load afresh: traffic stops until
// the new pipeline is attached and programmed.
var ErrIncompatiblePins = errors.New("pinned data path is incompatible with this pipeline")

// pinLayoutVersion is part of the layout fingerprint: bump it when the meaning of
// a pinned map's contents changes without its C layout changing, so that a new
// build refuses to take over maps an old one wrote.
const pinLayoutVersion = 4

const (
	pinLinksDir     = "links"
	pinLayoutName   = "layout"
	pinStagesPrefix = "stages-"
)

// pinnedMaps reports whether a map of the spec is pinned: state only, not the
// per-packet scratch, the load-time constants or the stage array (each Load has
// its own, see above).
func pinnedMap(name string) bool {
	return name != linxMapScratch && name != linxMapAbi && name != linxMapStages && !strings.HasPrefix(name, ".")
}

// pinLayout fingerprints the pinned maps: type, sizes, flags and the C layout of
// keys and values, as BTF describes them.
func pinLayout(spec *ebpf.CollectionSpec) [32]byte {
	names := make([]string, 0, len(spec.Maps))
	for name := range spec.Maps {
		if pinnedMap(name) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	h := sha256.New()
	fmt.Fprintf(h, "linx pins v%d\n", pinLayoutVersion)
	decl := func(t btf.Type) string {
		if t == nil {
			return "-"
		}
		var gf btf.GoFormatter
		s, err := gf.TypeDeclaration("t", t)
		if err != nil {
			return fmt.Sprintf("%v", t)
		}
		return s
	}
	for _, name := range names {
		m := spec.Maps[name]
		fmt.Fprintf(h, "%s %v %d %d %d %d\n%s\n%s\n", name, m.Type, m.KeySize, m.ValueSize, m.MaxEntries, m.Flags,
			decl(m.Key), decl(m.Value))
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum
}

// checkPins makes sure the maps pinned under dir were made for this spec, or that
// there are none (then it records the spec's layout for the next Load).
func checkPins(dir string, spec *ebpf.CollectionSpec) error {
	pinned, err := comparePins(dir, spec)
	if err != nil || pinned {
		return err
	}
	m, err := ebpf.NewMap(&ebpf.MapSpec{Name: "linx_layout", Type: ebpf.Array, KeySize: 4, ValueSize: 32, MaxEntries: 1})
	if err != nil {
		return fmt.Errorf("create layout record: %w", err)
	}
	defer m.Close()
	if err := m.Put(uint32(0), pinLayout(spec)); err != nil {
		return fmt.Errorf("write layout record: %w", err)
	}
	if err := m.Pin(filepath.Join(dir, pinLayoutName)); err != nil {
		return fmt.Errorf("pin layout record: %w", err)
	}
	return nil
}

// comparePins reports whether a data path is pinned under dir, and an error
// wrapping ErrIncompatiblePins when it is not one spec's maps can take over.
func comparePins(dir string, spec *ebpf.CollectionSpec) (pinned bool, err error) {
	path := filepath.Join(dir, pinLayoutName)
	m, err := ebpf.LoadPinnedMap(path, nil)
	if err == nil {
		defer m.Close()
		var got [32]byte
		if err := m.Lookup(uint32(0), &got); err != nil {
			return true, fmt.Errorf("read %s: %w", path, err)
		}
		if got != pinLayout(spec) {
			return true, fmt.Errorf("%w: the maps pinned under %s have another layout (another linx build, or other table sizes)", ErrIncompatiblePins, dir)
		}
		return true, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("open %s: %w", path, err)
	}
	for name := range spec.Maps {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil && pinnedMap(name) {
			return true, fmt.Errorf("%w: map %s is pinned under %s without a layout record (left by an older build)", ErrIncompatiblePins, name, dir)
		}
	}
	return false, nil
}

// CheckPins tells, before a start, what Load with opts would find under
// opts.PinDir: nothing pinned (pinned false), a data path it takes over without
// a gap (pinned, nil), or one it cannot take over (an error wrapping
// ErrIncompatiblePins: a stop and a start are needed).
func CheckPins(opts dataplane.Options) (pinned bool, err error) {
	if opts.PinDir == "" {
		return false, nil
	}
	spec, err := sizedSpec(opts.WithDefaults())
	if err != nil {
		return false, err
	}
	return comparePins(opts.PinDir, spec)
}

// pinStages pins this Load's stage array under a name of its own and notes the
// arrays of earlier loads, which ReleaseStale removes once every port runs the
// new pipeline.
func (d *Dataplane) pinStages() error {
	dir := d.opts.PinDir
	old, err := filepath.Glob(filepath.Join(dir, pinStagesPrefix+"*"))
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(dir, linxMapStages)); err == nil {
		old = append(old, filepath.Join(dir, linxMapStages)) // pinned by name by older builds
	}
	var nonce [8]byte
	rand.Read(nonce[:])
	path := filepath.Join(dir, pinStagesPrefix+hex.EncodeToString(nonce[:]))
	if err := d.objs.Stages.Pin(path); err != nil {
		return fmt.Errorf("pin stage programs: %w", err)
	}
	d.stagesPin, d.oldStages = path, old
	return nil
}

func (d *Dataplane) linkPin(ifname string) string {
	return filepath.Join(d.opts.PinDir, pinLinksDir, ifname)
}

// pinnedLink returns the XDP link an earlier process pinned for ifname when it is
// still attached to this interface (same ifindex, the program the interface runs,
// the same mode), to be taken over; nil if there is none. A pin that does not fit
// is removed, which detaches its link.
func (d *Dataplane) pinnedLink(ifname string, nl netlink.Link, mode dataplane.XDPMode) link.Link {
	if d.opts.PinDir == "" {
		return nil
	}
	path := d.linkPin(ifname)
	l, err := link.LoadPinnedLink(path, nil)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			os.Remove(path)
		}
		return nil
	}
	info, err := l.Info()
	x := nl.Attrs().Xdp
	ok := err == nil && info.XDP() != nil && int(info.XDP().Ifindex) == nl.Attrs().Index &&
		x != nil && x.Attached && x.ProgId == uint32(info.Program) && x.AttachMode == xdpAttachMode(mode)
	if !ok {
		l.Close()
		os.Remove(path)
		return nil
	}
	return l
}

// xdpAttachMode is the IFLA_XDP_ATTACHED value (XDP_ATTACHED_DRV, _SKB) of a mode.
func xdpAttachMode(m dataplane.XDPMode) uint32 {
	if m == dataplane.XDPGeneric {
		return 2
	}
	return 1
}

// pinLink pins a newly attached port's link so that it outlives the process.
func (d *Dataplane) pinLink(ifname string, l link.Link) error {
	if d.opts.PinDir == "" {
		return nil
	}
	if err := os.MkdirAll(filepath.Join(d.opts.PinDir, pinLinksDir), 0o700); err != nil {
		return fmt.Errorf("create link pin directory: %w", err)
	}
	path := d.linkPin(ifname)
	os.Remove(path) // a leftover that pinnedLink did not take over
	if err := l.Pin(path); err != nil {
		return fmt.Errorf("pin XDP link of %s: %w", ifname, err)
	}
	return nil
}

// ReleaseStale removes what an earlier process left running that this one did
// not take over: the XDP links of interfaces that are not attached now (which
// detaches them), their port entries, and the stage programs of earlier loads.
// Call it once every port is attached. It returns the interfaces detached.
func (d *Dataplane) ReleaseStale() ([]string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	attached := map[string]bool{}
	ifindexes := map[uint32]bool{}
	for _, p := range d.ports {
		attached[p.Name] = true
		ifindexes[uint32(p.Ifindex)] = true
	}
	var stale []string
	var errs []error
	if d.opts.PinDir != "" {
		ents, err := os.ReadDir(filepath.Join(d.opts.PinDir, pinLinksDir))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
		for _, e := range ents {
			if attached[e.Name()] {
				continue
			}
			if err := os.Remove(filepath.Join(d.opts.PinDir, pinLinksDir, e.Name())); err != nil {
				errs = append(errs, fmt.Errorf("detach stale port %s: %w", e.Name(), err))
				continue
			}
			stale = append(stale, e.Name())
		}
	}
	// Port entries of interfaces no longer attached.
	var key uint32
	var info linxPortInfo
	var drop []uint32
	for it := d.objs.Ports.Iterate(); it.Next(&key, &info); {
		if !ifindexes[key] {
			drop = append(drop, key)
		}
	}
	for k := uint32(1); k < portIfindexDirect; k++ {
		if !ifindexes[k] && d.objs.PortByIfindex.Lookup(k, &info) == nil && info.Port != 0 {
			drop = append(drop, k)
		}
	}
	for _, k := range drop {
		d.deletePort(k)
		d.objs.TxPorts.Delete(k)
	}
	for id := 1; id < d.opts.MaxPorts; id++ {
		if _, ok := d.ports[dataplane.PortID(id)]; ok {
			continue
		}
		var ifindex uint32
		if d.objs.PortIfindex.Lookup(uint32(id), &ifindex) == nil && ifindex != 0 {
			d.objs.PortIfindex.Put(uint32(id), uint32(0))
		}
	}
	for _, p := range d.oldStages {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("remove stage programs of an earlier load: %w", err))
		}
	}
	d.oldStages = nil
	return stale, errors.Join(errs...)
}

// RemovePins removes every pin a data path made under dir (maps, layout record,
// stage arrays, links), and dir itself when that leaves it empty and its parent
// lets us. Pins of links
// still attached detach them. Call it after Close, when the pipeline is not to be
// taken over by a later Load: that Load then starts empty.
func RemovePins(dir string) error {
	if dir == "" {
		return nil
	}
	spec, err := loadLinx()
	if err != nil {
		return err
	}
	var errs []error
	rm := func(p string) {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	links, _ := os.ReadDir(filepath.Join(dir, pinLinksDir))
	for _, e := range links {
		rm(filepath.Join(dir, pinLinksDir, e.Name()))
	}
	rm(filepath.Join(dir, pinLinksDir))
	stages, _ := filepath.Glob(filepath.Join(dir, pinStagesPrefix+"*"))
	for _, p := range stages {
		rm(p)
	}
	for name := range spec.Maps {
		if pinnedMap(name) || name == linxMapStages {
			rm(filepath.Join(dir, name))
		}
	}
	rm(filepath.Join(dir, pinLayoutName))
	if ents, err := os.ReadDir(dir); err == nil && len(ents) == 0 {
		os.Remove(dir) // best effort: its parent may not be ours (systemd makes dir for the agent's user)
	}
	return errors.Join(errs...)
}

// TookOver reports whether Attach took port id over from an earlier process
// (its pinned link swapped programs, without a gap) rather than attaching anew.
func (d *Dataplane) TookOver(id dataplane.PortID) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.takenOver[id]
}

// SetLeaveRunning changes what Close does (Options.LeaveRunning) after Load: an
// agent decides on its way out whether the pipeline outlives it. It needs a
// PinDir; without one it does nothing.
func (d *Dataplane) SetLeaveRunning(leave bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.opts.PinDir != "" {
		d.opts.LeaveRunning = leave
	}
}
