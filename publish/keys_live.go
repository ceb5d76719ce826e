package publish

import "strings"

// LiveUser is the hash RudderStack's Redis destination writes a user's
// identify traits to: "user:<id>", or "<prefix>:user:<id>" when the
// destination has a key prefix (which RudderStack trims of spaces). It
// belongs to no version and no namespace: recopub merges features into it
// with --features-target live, and the real-time stream keeps updating it.
func (k Keys) LiveUser(prefix, user string) string {
	if p := strings.TrimSpace(prefix); p != "" {
		return p + ":" + FamilyUser + ":" + user
	}
	return FamilyUser + ":" + user
}
