// Package userspace is the baseline linx is measured against: a user-space
// SD-WAN forwarder of the kind the paper argues against. It receives IPv4
// frames on a LAN interface through an AF_PACKET TPACKET_V3 receive ring,
// GRE-encapsulates them (IPv4, with key, inner TTL decremented) and sends them
// on a WAN interface through a TPACKET_V2 transmit ring, a block of received
// frames at a time, with one send(2) per block to flush the ring. Both rings
// are shared with the kernel by mmap (PACKET_MMAP), so no frame is copied by a
// read or write system call; what remains is what every AF_PACKET forwarder
// pays: the kernel still builds an skb per frame on both sides, and the
// frames cross into user space and back.
//
// It is written from the kernel's documented API (Documentation/networking/
// packet_mmap.rst, linux/if_packet.h) with golang.org/x/sys/unix. It is a
// benchmark baseline, not a product: one tunnel, IPv4 only.
package userspace

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Config is one forwarder.
type Config struct {
	In, Out        string           // LAN (receive) and WAN (send) interfaces, in the caller's namespace
	SrcMAC, DstMAC net.HardwareAddr // outer Ethernet header
	Src, Dst       netip.Addr       // tunnel endpoints (outer IPv4)
	Key            uint32           // GRE key
	// CPUs are the CPUs of the worker threads, one worker per entry (a
	// PACKET_FANOUT_CPU group spreads received frames over them); nil: one
	// unpinned worker.
	CPUs []int
}

// Ring geometry. The receive ring holds rxBlocks blocks of rxBlockSize; the
// kernel hands a block to user space when it is full or after rxTimeoutMs.
const (
	rxBlockSize = 1 << 18
	rxBlocks    = 16
	rxFrameSize = 2048
	rxTimeoutMs = 1
	txFrameSize = 2048
	txBlockSize = 1 << 16
	txBlocks    = 32
	// txDataOff is where a TPACKET_V2 transmit frame's data starts:
	// TPACKET_ALIGN(sizeof(struct tpacket2_hdr)).
	txDataOff = (unix.SizeofTpacket2Hdr + unix.TPACKET_ALIGNMENT - 1) &^ (unix.TPACKET_ALIGNMENT - 1)
	// encapLen is what GRE with key in IPv4 adds in front of the inner packet.
	encapLen = 14 + 20 + 8
)

// Stats are a forwarder's counters.
type Stats struct {
	Received  uint64 // frames read from the receive ring
	Forwarded uint64 // frames queued on the transmit ring
	Skipped   uint64 // not IPv4, TTL expired or too long
	TXFull    uint64 // dropped because the transmit ring was full
	RingDrops uint64 // dropped by the kernel: receive ring full (PACKET_STATISTICS)
}

// Forwarder is a running forwarder. Stop it.
type Forwarder struct {
	workers []*worker
	stop    atomic.Bool
	wg      sync.WaitGroup
	mu      sync.Mutex
	errs    []error
}

type worker struct {
	cfg        *Config
	cpu        int
	rxFd, txFd int
	rx, tx     []byte
	rxBlock    int
	txFrame    int
	hdr        [encapLen]byte // outer Ethernet, IPv4 (length, id, checksum 0), GRE with key
	hdrSum     uint32         // ones' complement sum of the outer IPv4 header as templated
	st         struct{ received, forwarded, skipped, txFull atomic.Uint64 }
	ringDrops  atomic.Uint64
}

// Start opens the sockets and rings in the calling thread's network namespace
// and starts the workers.
func Start(cfg Config) (*Forwarder, error) {
	if !cfg.Src.Is4() || !cfg.Dst.Is4() || len(cfg.SrcMAC) != 6 || len(cfg.DstMAC) != 6 {
		return nil, errors.New("userspace forwarder: want IPv4 tunnel endpoints and Ethernet addresses")
	}
	in, err := net.InterfaceByName(cfg.In)
	if err != nil {
		return nil, err
	}
	out, err := net.InterfaceByName(cfg.Out)
	if err != nil {
		return nil, err
	}
	cpus := cfg.CPUs
	if len(cpus) == 0 {
		cpus = []int{-1}
	}
	f := &Forwarder{}
	for i, cpu := range cpus {
		w := &worker{cfg: &cfg, cpu: cpu, rxFd: -1, txFd: -1}
		f.workers = append(f.workers, w)
		if err := w.open(in.Index, out.Index, len(cpus) > 1, i); err != nil {
			f.close()
			return nil, err
		}
	}
	for _, w := range f.workers {
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			if err := w.run(&f.stop); err != nil {
				f.mu.Lock()
				f.errs = append(f.errs, err)
				f.mu.Unlock()
			}
		}()
	}
	return f, nil
}

// Stop stops the workers, closes the rings and returns the first worker error.
func (f *Forwarder) Stop() error {
	f.stop.Store(true)
	f.wg.Wait()
	f.close()
	return errors.Join(f.errs...)
}

func (f *Forwarder) close() {
	for _, w := range f.workers {
		w.close()
	}
}

// Stats sums the workers' counters.
func (f *Forwarder) Stats() Stats {
	var s Stats
	for _, w := range f.workers {
		w.pollRingDrops()
		s.Received += w.st.received.Load()
		s.Forwarded += w.st.forwarded.Load()
		s.Skipped += w.st.skipped.Load()
		s.TXFull += w.st.txFull.Load()
		s.RingDrops += w.ringDrops.Load()
	}
	return s
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

func (w *worker) open(inIdx, outIdx int, fanout bool, id int) error {
	var err error
	// Receive: IPv4 frames only, on the LAN interface.
	if w.rxFd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_IP))); err != nil {
		return fmt.Errorf("rx socket: %w", err)
	}
	if err := unix.SetsockoptInt(w.rxFd, unix.SOL_PACKET, unix.PACKET_VERSION, unix.TPACKET_V3); err != nil {
		return fmt.Errorf("rx TPACKET_V3: %w", err)
	}
	req := unix.TpacketReq3{Block_size: rxBlockSize, Block_nr: rxBlocks, Frame_size: rxFrameSize,
		Frame_nr: rxBlockSize / rxFrameSize * rxBlocks, Retire_blk_tov: rxTimeoutMs}
	if err := unix.SetsockoptTpacketReq3(w.rxFd, unix.SOL_PACKET, unix.PACKET_RX_RING, &req); err != nil {
		return fmt.Errorf("rx ring: %w", err)
	}
	if w.rx, err = unix.Mmap(w.rxFd, 0, rxBlockSize*rxBlocks, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED); err != nil {
		return fmt.Errorf("mmap rx ring: %w", err)
	}
	if err := unix.Bind(w.rxFd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_IP), Ifindex: inIdx}); err != nil {
		return fmt.Errorf("bind rx: %w", err)
	}
	if fanout {
		// group id in the low 16 bits, mode in the high ones
		arg := (unix.PACKET_FANOUT_CPU << 16) | (0x4c58 & 0xffff)
		if err := unix.SetsockoptInt(w.rxFd, unix.SOL_PACKET, unix.PACKET_FANOUT, arg); err != nil {
			return fmt.Errorf("rx fanout: %w", err)
		}
	}
	// Transmit: protocol 0, so this socket receives nothing.
	if w.txFd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0); err != nil {
		return fmt.Errorf("tx socket: %w", err)
	}
	if err := unix.SetsockoptInt(w.txFd, unix.SOL_PACKET, unix.PACKET_VERSION, unix.TPACKET_V2); err != nil {
		return fmt.Errorf("tx TPACKET_V2: %w", err)
	}
	// Straight to the driver, as user-space data planes configure it.
	if err := unix.SetsockoptInt(w.txFd, unix.SOL_PACKET, unix.PACKET_QDISC_BYPASS, 1); err != nil {
		return fmt.Errorf("tx qdisc bypass: %w", err)
	}
	treq := unix.TpacketReq{Block_size: txBlockSize, Block_nr: txBlocks, Frame_size: txFrameSize,
		Frame_nr: txBlockSize / txFrameSize * txBlocks}
	if err := unix.SetsockoptTpacketReq(w.txFd, unix.SOL_PACKET, unix.PACKET_TX_RING, &treq); err != nil {
		return fmt.Errorf("tx ring: %w", err)
	}
	if w.tx, err = unix.Mmap(w.txFd, 0, txBlockSize*txBlocks, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED); err != nil {
		return fmt.Errorf("mmap tx ring: %w", err)
	}
	if err := unix.Bind(w.txFd, &unix.SockaddrLinklayer{Protocol: 0, Ifindex: outIdx}); err != nil {
		return fmt.Errorf("bind tx: %w", err)
	}
	w.template()
	return nil
}

// template fills the outer headers; per frame only the IPv4 total length and
// checksum change.
func (w *worker) template() {
	h := w.hdr[:]
	copy(h[0:6], w.cfg.DstMAC)
	copy(h[6:12], w.cfg.SrcMAC)
	binary.BigEndian.PutUint16(h[12:], unix.ETH_P_IP)
	ip := h[14:34]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[6:], 0x4000) // DF
	ip[8] = 64
	ip[9] = unix.IPPROTO_GRE
	s, d := w.cfg.Src.As4(), w.cfg.Dst.As4()
	copy(ip[12:16], s[:])
	copy(ip[16:20], d[:])
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(ip[i:]))
	}
	w.hdrSum = sum
	gre := h[34:42]
	binary.BigEndian.PutUint16(gre[0:], 0x2000) // K bit
	binary.BigEndian.PutUint16(gre[2:], unix.ETH_P_IP)
	binary.BigEndian.PutUint32(gre[4:], w.cfg.Key)
}

func (w *worker) close() {
	if w.rx != nil {
		unix.Munmap(w.rx)
		w.rx = nil
	}
	if w.tx != nil {
		unix.Munmap(w.tx)
		w.tx = nil
	}
	for _, fd := range []*int{&w.rxFd, &w.txFd} {
		if *fd >= 0 {
			unix.Close(*fd)
			*fd = -1
		}
	}
}

func (w *worker) pollRingDrops() {
	if w.rxFd < 0 {
		return
	}
	// Reading PACKET_STATISTICS resets it.
	if st, err := unix.GetsockoptTpacketStatsV3(w.rxFd, unix.SOL_PACKET, unix.PACKET_STATISTICS); err == nil {
		w.ringDrops.Add(uint64(st.Drops))
	}
}

// blockStatus is the status word of receive block b (struct tpacket_block_desc:
// version, offset_to_priv, then struct tpacket_hdr_v1 whose first word it is).
func (w *worker) blockHdr(b int) *unix.TpacketHdrV1 {
	return (*unix.TpacketHdrV1)(unsafe.Pointer(&w.rx[b*rxBlockSize+8]))
}

func (w *worker) run(stop *atomic.Bool) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if w.cpu >= 0 {
		var set unix.CPUSet
		set.Set(w.cpu)
		if err := unix.SchedSetaffinity(0, &set); err != nil {
			return fmt.Errorf("pin worker to CPU %d: %w", w.cpu, err)
		}
	}
	pfd := []unix.PollFd{{Fd: int32(w.rxFd), Events: unix.POLLIN | unix.POLLERR}}
	for !stop.Load() {
		bh := w.blockHdr(w.rxBlock)
		if atomic.LoadUint32(&bh.Block_status)&unix.TP_STATUS_USER == 0 {
			if _, err := unix.Poll(pfd, 50); err != nil && !errors.Is(err, unix.EINTR) {
				return fmt.Errorf("poll rx: %w", err)
			}
			continue
		}
		base := w.rxBlock * rxBlockSize
		off := int(bh.Offset_to_first_pkt)
		n := int(bh.Num_pkts)
		for range n {
			ph := (*unix.Tpacket3Hdr)(unsafe.Pointer(&w.rx[base+off]))
			start := base + off + int(ph.Mac)
			w.forward(w.rx[start : start+int(ph.Snaplen)])
			off += int(ph.Next_offset)
		}
		w.st.received.Add(uint64(n))
		atomic.StoreUint32(&bh.Block_status, unix.TP_STATUS_KERNEL)
		w.rxBlock = (w.rxBlock + 1) % rxBlocks
		// One system call sends everything queued for this block.
		if err := w.flush(); err != nil {
			return err
		}
	}
	return nil
}

func (w *worker) flush() error {
	_, _, errno := unix.Syscall6(unix.SYS_SENDTO, uintptr(w.txFd), 0, 0, unix.MSG_DONTWAIT, 0, 0)
	if errno != 0 && errno != unix.EAGAIN && errno != unix.ENOBUFS {
		return fmt.Errorf("flush tx ring: %w", errno)
	}
	return nil
}

// forward encapsulates one received Ethernet frame into the next transmit frame.
func (w *worker) forward(frame []byte) {
	if len(frame) < 14+20 || binary.BigEndian.Uint16(frame[12:]) != unix.ETH_P_IP || frame[14]>>4 != 4 {
		w.st.skipped.Add(1)
		return
	}
	inner := frame[14:]
	ihl := int(inner[0]&0xf) * 4
	tot := int(binary.BigEndian.Uint16(inner[2:]))
	if ihl < 20 || tot < ihl || tot > len(inner) || inner[8] <= 1 || txDataOff+encapLen+tot > txFrameSize {
		w.st.skipped.Add(1)
		return
	}
	inner = inner[:tot]
	fr := w.txFrame * txFrameSize
	th := (*unix.Tpacket2Hdr)(unsafe.Pointer(&w.tx[fr]))
	if atomic.LoadUint32(&th.Status) != unix.TP_STATUS_AVAILABLE {
		// The ring is full of frames the kernel has not sent: push them, look once more.
		w.flush()
		if atomic.LoadUint32(&th.Status) != unix.TP_STATUS_AVAILABLE {
			w.st.txFull.Add(1)
			return
		}
	}
	out := w.tx[fr+txDataOff : fr+txDataOff+encapLen+tot]
	copy(out, w.hdr[:])
	l := uint16(20 + 8 + tot)
	binary.BigEndian.PutUint16(out[14+2:], l)
	sum := w.hdrSum + uint32(l)
	sum = (sum & 0xffff) + sum>>16
	sum = (sum & 0xffff) + sum>>16
	binary.BigEndian.PutUint16(out[14+10:], ^uint16(sum))
	p := out[encapLen:]
	copy(p, inner)
	// Decrement the inner TTL, fixing its checksum incrementally (RFC 1624).
	p[8]--
	c := uint32(^binary.BigEndian.Uint16(p[10:])) + 0xfeff // ~HC + ~m + m', m' = m - 0x0100
	c = (c & 0xffff) + c>>16
	c = (c & 0xffff) + c>>16
	binary.BigEndian.PutUint16(p[10:], ^uint16(c))
	th.Len = uint32(len(out))
	atomic.StoreUint32(&th.Status, unix.TP_STATUS_SEND_REQUEST)
	w.txFrame = (w.txFrame + 1) % (txBlockSize / txFrameSize * txBlocks)
	w.st.forwarded.Add(1)
}
