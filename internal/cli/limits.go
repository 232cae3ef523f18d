package cli

import (
	"fmt"
	"log/slog"
)

// reservedFiles are the descriptors serve keeps out of the DNS TCP cap:
// UDP sockets, listeners, connections to the API server, the manifest
// watcher and the files a reload reads, with room to spare.
const reservedFiles = 64

// checkLimits refuses connection limits that cannot work.
func (f *serveFlags) checkLimits() error {
	switch {
	case f.tcpMaxConns < 1:
		return fmt.Errorf("--tcp-max-conns %d: want at least 1", f.tcpMaxConns)
	case f.tcpIdleTimeout <= 0:
		return fmt.Errorf("--tcp-idle-timeout %s: want a positive duration", f.tcpIdleTimeout)
	case f.tcpMessageTimeout <= 0:
		return fmt.Errorf("--tcp-message-timeout %s: want a positive duration", f.tcpMessageTimeout)
	case f.tcpMaxPending < 1:
		return fmt.Errorf("--tcp-max-pending %d: want at least 1 byte", f.tcpMaxPending)
	case f.httpMaxConns < 1:
		return fmt.Errorf("--http-max-conns %d: want at least 1", f.httpMaxConns)
	}
	return nil
}

// fitTCPConns returns the DNS TCP connection cap that fits the process's
// file descriptor limit next to the HTTP endpoints' caps and
// reservedFiles, so that DNS connections alone never exhaust descriptors.
// It says so when it lowers the cap.
func (f *serveFlags) fitTCPConns(log *slog.Logger) int {
	limit, ok := fileLimit()
	if !ok {
		return f.tcpMaxConns
	}
	endpoints := 0
	for _, a := range []string{f.healthAddr, f.metricsAddr, f.pprofAddr} {
		if a != "" {
			endpoints++
		}
	}
	room := int64(limit) - reservedFiles - int64(endpoints*f.httpMaxConns)
	if int64(f.tcpMaxConns) <= room {
		return f.tcpMaxConns
	}
	fitted := int(max(room, 1))
	log.Warn("DNS TCP connection cap lowered to fit the file descriptor limit", "tcp_max_conns", fitted, "wanted", f.tcpMaxConns,
		"file_limit", limit, "explicit", f.tcpMaxConnsSet)
	return fitted
}
