package cluster

import (
	"encoding/json"
	"net/netip"
	"testing"
)

func TestAddressesHoldWhatTheyWereGiven(t *testing.T) {
	a1 := netip.MustParseAddr("10.0.0.1")
	a2 := netip.MustParseAddr("10.0.0.2")
	for _, in := range [][]netip.Addr{nil, {a1}, {a1, a2}, {{}}, {{}, a1}} {
		got := AddressesOf(in...)
		if got.Len() != len(in) {
			t.Errorf("AddressesOf(%v).Len() = %d", in, got.Len())
			continue
		}
		for i, a := range got.All() {
			if a != in[i] || got.At(i) != in[i] {
				t.Errorf("AddressesOf(%v): address %d = %v", in, i, a)
			}
		}
		if s := got.Slice(); len(s) != len(in) {
			t.Errorf("AddressesOf(%v).Slice() = %v", in, s)
		}
		if !got.Equal(AddressesOf(in...)) {
			t.Errorf("AddressesOf(%v) not equal to itself", in)
		}
	}
	if AddressesOf(a1).Equal(AddressesOf(a2)) || AddressesOf(a1).Equal(AddressesOf(a1, a2)) {
		t.Error("different addresses compare equal")
	}
}

func TestAddressesCopyTheirInput(t *testing.T) {
	in := []netip.Addr{netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")}
	a := AddressesOf(in...)
	in[0] = netip.MustParseAddr("10.9.9.9")
	if a.At(0).String() != "10.0.0.1" {
		t.Errorf("AddressesOf kept the caller's array: %v", a)
	}
}

func TestAddressesOutOfRangePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("At(1) of one address did not panic")
		}
	}()
	AddressesOf(netip.MustParseAddr("10.0.0.1")).At(1)
}

func TestAddressesFormatAsTheSliceDid(t *testing.T) {
	a := AddressesOf(netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("fd00::1"))
	if a.String() != "[10.0.0.1 fd00::1]" {
		t.Errorf("String() = %q", a.String())
	}
	b, err := json.Marshal(Endpoint{Addresses: a})
	if err != nil || string(b[:len(`{"Addresses":["10.0.0.1","fd00::1"]`)]) != `{"Addresses":["10.0.0.1","fd00::1"]` {
		t.Errorf("JSON = %s, %v", b, err)
	}
}

func TestOneAddressNeedsNoAllocation(t *testing.T) {
	a := netip.MustParseAddr("10.0.0.1")
	if n := testing.AllocsPerRun(100, func() { _ = AddressesOf(a) }); n != 0 {
		t.Errorf("AddressesOf(one address) allocates %v times", n)
	}
}
