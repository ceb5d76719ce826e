package features

import "testing"

func TestJSNumber(t *testing.T) {
	for _, tt := range []struct {
		in   float64
		want string
	}{
		{0, "0"},
		{3, "3"},
		{-3, "-3"},
		{17850, "17850"},
		{0.1, "0.1"},
		{1.5, "1.5"},
		{123.456, "123.456"},
		{1e21, "1e+21"},
		{1e20, "100000000000000000000"},
		{1.5e-7, "1.5e-7"},
		{1e-6, "0.000001"},
		{1e-7, "1e-7"},
		{2.5e25, "2.5e+25"},
		{0.000123, "0.000123"},
		{9007199254740993, "9007199254740992"},
	} {
		if got := JSNumber(tt.in); got != tt.want {
			t.Errorf("JSNumber(%v)=%q, want %q", tt.in, got, tt.want)
		}
	}
}
