package publish

import "testing"

func TestLiveUser(t *testing.T) {
	for _, c := range []struct{ prefix, user, want string }{
		{"", "U1", "user:U1"},
		{"shop", "U1", "shop:user:U1"},
		{"  shop ", "U1", "shop:user:U1"}, // RudderStack trims the prefix
		{"   ", "U1", "user:U1"},
		{"a:b", "sku:9", "a:b:user:sku:9"},
	} {
		if got := (Keys{Namespace: "other"}).LiveUser(c.prefix, c.user); got != c.want {
			t.Errorf("LiveUser(%q, %q) = %q, want %q", c.prefix, c.user, got, c.want)
		}
	}
}
