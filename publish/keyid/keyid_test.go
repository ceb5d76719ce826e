package keyid_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/recopub/recopub/publish/keyid"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		id     string
		reason string // "" when valid
	}{
		{"P1", ""},
		{"sku:123", ""},
		{"gid://shop/Product/9", ""},
		{"Blue shirt", ""},
		{"café-ü", ""},
		{"商品-42", ""},
		{strings.Repeat("x", keyid.MaxLen), ""},
		{"", keyid.Empty},
		{strings.Repeat("x", keyid.MaxLen+1), keyid.TooLong},
		{"\xff\xfe", keyid.InvalidUTF8},
		{"a*", keyid.BadChar},
		{"W*star", keyid.BadChar},
		{"a?", keyid.BadChar},
		{"[a]", keyid.BadChar},
		{"W{tag}", keyid.BadChar},
		{"tab\tx", keyid.BadChar},
		{"a\x01ctl", keyid.BadChar},
		{"a\nb", keyid.BadChar},
		{"a\x00b", keyid.BadChar},
		{"a\x7f", keyid.BadChar},
		{"a\u0085b", keyid.BadChar},         // C1 control
		{"abc\u202Efdp.exe", keyid.BadChar}, // right-to-left override
		{"a\u2066b", keyid.BadChar},         // left-to-right isolate
		{"a\u200Fb", keyid.BadChar},         // right-to-left mark
		{"a\u061Cb", keyid.BadChar},         // Arabic letter mark
	}
	for _, tt := range tests {
		err := keyid.Check(tt.id)
		if tt.reason == "" {
			if err != nil {
				t.Errorf("Check(%q) = %v, want nil", tt.id, err)
			}
			continue
		}
		var e *keyid.Error
		if !errors.As(err, &e) {
			t.Errorf("Check(%q) = %v, want *keyid.Error", tt.id, err)
			continue
		}
		if got, want := e.Reason, tt.reason; got != want {
			t.Errorf("Check(%q).Reason = %q, want %q", tt.id, got, want)
		}
		if !errors.Is(err, keyid.ErrInvalid) {
			t.Errorf("Check(%q) does not wrap ErrInvalid", tt.id)
		}
	}
}
