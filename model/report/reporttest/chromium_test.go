package reporttest

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"strings"
	"testing"
)

// recorder keeps the errors Render reports instead of failing.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func pngPage(tb testing.TB, draw func(*image.RGBA)) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 400, 200))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	draw(img)
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		tb.Fatal(err)
	}
	return []byte(`<!DOCTYPE html><html><body><figure id="f"><img alt="x" src="data:image/png;base64,` +
		base64.StdEncoding.EncodeToString(buf.Bytes()) + `"></figure></body></html>`)
}

func TestRenderFindsBlankImages(t *testing.T) {
	blank := pngPage(t, func(*image.RGBA) {})
	r := &recorder{TB: t}
	Render(r, blank)
	if got := strings.Join(r.errs, "\n"); !strings.Contains(got, "single colour") || !strings.Contains(got, "blank on screen") {
		t.Errorf("a white image passed: %q", got)
	}
	drawn := pngPage(t, func(img *image.RGBA) {
		for x := range 400 {
			for y := 40; y < 160; y += 20 {
				img.Set(x, y+x%20, color.Black)
			}
		}
	})
	r = &recorder{TB: t}
	if imgs := Render(r, drawn); len(r.errs) > 0 || len(imgs) != 1 {
		t.Errorf("a drawn image: %d images, errors %q", len(imgs), r.errs)
	}
}
