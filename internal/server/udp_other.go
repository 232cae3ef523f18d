//go:build !linux

package server

import (
	"net"
	"syscall"
)

const reusePortSupported = false

func setReusePort(_, _ string, _ syscall.RawConn) error { return nil }

func (s *Server) serveUDP(uc *net.UDPConn, worker int) error { return s.serveUDPSimple(uc, worker) }
