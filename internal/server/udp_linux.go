package server

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

const reusePortSupported = true

// setReusePort is a net.ListenConfig.Control that sets SO_REUSEPORT.
func setReusePort(_, _ string, c syscall.RawConn) error {
	var serr error
	if err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
	}); err != nil {
		return err
	}
	return serr
}

// udpBatch is the number of datagrams read (recvmmsg) and answered
// (sendmmsg) with one system call each, at most. Under load the socket
// queue fills while the goroutine answers, and the next read takes many;
// when idle, a read returns the one query there is.
const udpBatch = 32

// udpMaxQuery is the largest datagram read whole; a longer one is
// dropped (MSG_TRUNC). A query is a header, one question and an OPT
// record: well under a kilobyte even padded (RFC 8467 pads to 468
// bytes), and this server takes no UPDATE. 4 KiB a buffer, 32 a socket:
// at 64 KiB each they were 4 MiB of heap with two sockets.
const udpMaxQuery = 4096

// mmsghdr is struct mmsghdr of recvmmsg(2) and sendmmsg(2).
type mmsghdr struct {
	hdr unix.Msghdr
	len uint32
	_   [4]byte
}

// udpWorker is one UDP socket's reader: it reads a batch of queries,
// answers each into its own buffer, and sends the answers in one call.
// Nothing is allocated per query or per batch.
type udpWorker struct {
	s      *Server
	uc     *net.UDPConn
	rc     syscall.RawConn
	worker int

	recv  [udpBatch]mmsghdr
	send  [udpBatch]mmsghdr
	iovIn [udpBatch]unix.Iovec
	iovOu [udpBatch]unix.Iovec
	names [udpBatch]unix.RawSockaddrInet6 // large enough for either family
	in    [udpBatch][]byte
	out   [udpBatch][]byte
	sc    [udpBatch]scratch
	slot  [udpBatch]int // send index -> receive index

	// Results of the system calls, set by readFn and writeFn (method
	// values made once, so that RawConn.Read and Write allocate nothing).
	n, nsend, sent int
	errno          syscall.Errno
	readFn         func(fd uintptr) bool
	writeFn        func(fd uintptr) bool
}

func (s *Server) serveUDP(uc *net.UDPConn, worker int) error {
	rc, err := uc.SyscallConn()
	if err != nil {
		return s.serveUDPSimple(uc, worker)
	}
	w := &udpWorker{s: s, uc: uc, rc: rc, worker: worker}
	for i := range w.recv {
		w.in[i] = make([]byte, udpMaxQuery)
		w.out[i] = make([]byte, 0, 4096)
		w.iovIn[i].Base = &w.in[i][0]
		w.iovIn[i].SetLen(udpMaxQuery)
		w.recv[i].hdr.Iov = &w.iovIn[i]
		w.recv[i].hdr.SetIovlen(1)
		w.recv[i].hdr.Name = (*byte)(unsafe.Pointer(&w.names[i]))
	}
	w.readFn = w.read
	w.writeFn = w.write
	return w.serve()
}

func (w *udpWorker) read(fd uintptr) bool {
	for i := range w.recv {
		w.recv[i].hdr.Namelen = unix.SizeofSockaddrInet6
		w.recv[i].hdr.Flags = 0
	}
	for {
		n, _, e := unix.RawSyscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&w.recv[0])), udpBatch, unix.MSG_DONTWAIT, 0, 0)
		switch e {
		case 0:
			w.n, w.errno = int(n), 0
			return true
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false // wait in the netpoller
		default:
			w.n, w.errno = 0, e
			return true
		}
	}
}

func (w *udpWorker) write(fd uintptr) bool {
	for w.sent < w.nsend {
		n, _, e := unix.RawSyscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&w.send[w.sent])), uintptr(w.nsend-w.sent), unix.MSG_DONTWAIT, 0, 0)
		switch e {
		case 0:
			w.sent += int(n)
		case unix.EINTR:
		case unix.EAGAIN:
			return false
		default:
			// The first datagram could not be sent (the client's
			// address is unreachable, say): drop it, as a failed
			// WriteTo would, and go on with the rest.
			w.sent++
		}
	}
	return true
}

func (w *udpWorker) serve() error {
	s := w.s
	obs := s.cfg.Observer != nil
	for {
		if err := w.rc.Read(w.readFn); err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("reading udp: %w", err)
		}
		if w.errno != 0 {
			if w.errno == unix.ECONNREFUSED || w.errno == unix.EHOSTUNREACH || w.errno == unix.ENETUNREACH || w.errno == unix.ENOMEM || w.errno == unix.ENOBUFS {
				continue // an ICMP error for an earlier answer, or a transient shortage
			}
			return fmt.Errorf("reading udp: %w", w.errno)
		}
		var start time.Time
		if obs {
			start = time.Now()
		}
		w.nsend = 0
		for i := 0; i < w.n; i++ {
			m := &w.recv[i]
			if m.hdr.Flags&unix.MSG_TRUNC != 0 {
				continue // longer than any query: dropped, as a short read would be
			}
			from := sockaddrAddrPort(&w.names[i])
			resp := s.answer(&w.sc[i], w.in[i][:m.len], w.out[i][:0], UDP, from)
			if resp == nil {
				if w.sc[i].r.deferred {
					s.resolveOutside(&w.sc[i], w.in[i][:m.len], UDP, from, w.worker, udpReply(w.uc, from))
				}
				continue
			}
			if cap(resp) <= 64*1024 {
				w.out[i] = resp[:0]
			}
			k := w.nsend
			w.nsend++
			w.slot[k] = i
			w.iovOu[k].Base = unsafe.SliceData(resp)
			w.iovOu[k].SetLen(len(resp))
			w.send[k].hdr = unix.Msghdr{Name: m.hdr.Name, Namelen: m.hdr.Namelen, Iov: &w.iovOu[k]}
			w.send[k].hdr.SetIovlen(1)
		}
		if w.nsend == 0 {
			continue
		}
		w.sent = 0
		if err := w.rc.Write(w.writeFn); err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("writing udp: %w", err)
		}
		if obs {
			d := time.Since(start)
			for k := 0; k < w.nsend; k++ {
				i := w.slot[k]
				iov := &w.iovOu[k]
				resp := unsafe.Slice(iov.Base, iov.Len)
				s.observe(&w.sc[i], int(w.recv[i].len), resp, UDP, sockaddrAddrPort(&w.names[i]), start, d, w.worker)
			}
		}
	}
}

// sockaddrAddrPort converts a socket address from recvmmsg.
func sockaddrAddrPort(sa *unix.RawSockaddrInet6) netip.AddrPort {
	switch sa.Family {
	case unix.AF_INET:
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		return netip.AddrPortFrom(netip.AddrFrom4(sa4.Addr), netPort(&sa4.Port))
	case unix.AF_INET6:
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr), netPort(&sa.Port))
	}
	return netip.AddrPort{}
}

// netPort reads a port stored in network byte order.
func netPort(p *uint16) uint16 {
	b := (*[2]byte)(unsafe.Pointer(p))
	return uint16(b[0])<<8 | uint16(b[1])
}
