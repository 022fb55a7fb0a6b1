package media

import (
	"strings"
	"testing"

	"github.com/google/uuid"
)

// An object key is the boundary between tenants in the bucket: a key parseKey accepts has exactly one
// spelling (no empty or dot segment, a canonical tenant id), and rebuilding it from what was parsed gives
// the same string back, so no two spellings can name one object or slip past a prefix check.
func FuzzParseKey(f *testing.F) {
	id := uuid.New()
	for _, s := range []string{TenantKey(id, "poster", "jpg"), PlatformKey("material", "pdf"),
		"t/" + id.String() + "/../x", "t/" + strings.ToUpper(id.String()) + "/poster/a.jpg", "t//poster/a.jpg",
		"t/00000000-0000-0000-0000-000000000000/poster/a.jpg", PlatformPrefix + "a/.hidden", "t/x/y/z/w"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		k, ok := parseKey(key)
		if !ok {
			return
		}
		var again string
		if k.platform {
			again = PlatformPrefix + k.purpose + "/" + k.name
		} else {
			again = "t/" + k.tenant.String() + "/" + k.purpose + "/" + k.name
			if k.tenant == uuid.Nil {
				t.Fatalf("%q parsed with the nil tenant", key)
			}
		}
		if again != key {
			t.Fatalf("%q parsed to %+v, which spells %q", key, k, again)
		}
		for _, seg := range strings.Split(key, "/") {
			if seg == "" || seg == "." || seg == ".." {
				t.Fatalf("%q accepted with the segment %q", key, seg)
			}
		}
	})
}
