// Package clientip finds the client's address behind trusted reverse proxies (a load balancer, an ingress).
// Behind one, every request arrives from the proxy's address, so limits per address would throttle all
// customers together; the proxy names the client in X-Forwarded-For. That header is believed only as far
// as trusted proxies wrote it: read from the right, each address that belongs to a trusted proxy is
// skipped, and the first one that does not is the client (what a client wrote itself stands further
// left and is never reached unless every hop was trusted).
package clientip

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Proxies are the networks whose requests' X-Forwarded-For is believed.
type Proxies []netip.Prefix

// Parse reads a comma-separated list of CIDR prefixes or single addresses; empty trusts nobody.
func Parse(list string) (Proxies, error) {
	var p Proxies
	for item := range strings.SplitSeq(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if pre, err := netip.ParsePrefix(item); err == nil {
			p = append(p, pre.Masked())
			continue
		}
		addr, err := netip.ParseAddr(item)
		if err != nil {
			return nil, fmt.Errorf("%q is neither an address nor a CIDR prefix", item)
		}
		p = append(p, netip.PrefixFrom(addr.Unmap(), addr.Unmap().BitLen()))
	}
	return p, nil
}

func (p Proxies) trusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, pre := range p {
		if pre.Contains(a) {
			return true
		}
	}
	return false
}

// Client returns the client's address for a request from peer (host:port, as in http.Request.RemoteAddr)
// carrying the given X-Forwarded-For values, and whether it differs from the peer.
func (p Proxies) Client(peer string, forwardedFor []string) (netip.Addr, bool, error) {
	ap, err := netip.ParseAddrPort(peer)
	if err != nil {
		return netip.Addr{}, false, err
	}
	client := ap.Addr().Unmap()
	if !p.trusted(client) {
		return client, false, nil
	}
	var hops []string
	for _, v := range forwardedFor {
		hops = append(hops, strings.Split(v, ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			// A hop a trusted proxy would not write: what stands left of it cannot be believed.
			break
		}
		client = a.Unmap()
		if !p.trusted(client) {
			break
		}
	}
	return client, client != ap.Addr().Unmap(), nil
}

// Handler sets r.RemoteAddr to the client's address (port 0) when the request came through trusted
// proxies, so that everything downstream (limits, logs, Connect's Peer) sees the client. With no
// proxies it returns next unchanged.
func (p Proxies) Handler(next http.Handler) http.Handler {
	if len(p) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		client, changed, err := p.Client(r.RemoteAddr, r.Header.Values("X-Forwarded-For"))
		if err == nil && changed {
			r = r.WithContext(r.Context()) // a shallow copy: the caller's request is left as it was
			r.RemoteAddr = net.JoinHostPort(client.String(), "0")
		}
		next.ServeHTTP(w, r)
	})
}
