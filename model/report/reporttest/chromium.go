// Package reporttest checks HTML reports as a person sees them: opened in
// headless Chromium, every image decoded by the browser and drawn with
// something on it.
package reporttest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Image is one <img> of a page as Chromium laid it out.
type Image struct {
	Alt, Fig   string // alt text and the id of the enclosing element
	W, H       int    // natural size: 0 when the browser could not decode it
	X, Y       int    // top left on the page, in CSS pixels
	BoxW, BoxH int    // laid-out size
}

// Chromium returns the path of a Chromium binary or fails the test with
// how to install one.
func Chromium(tb testing.TB) string {
	tb.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	tb.Fatalf("chromium not found: install it (Debian: apt-get install -y chromium); 'make test' does so in CI")
	return ""
}

// Flags are the flags of a headless, offline, sandbox-free run.
func Flags(tb testing.TB) []string {
	return []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--force-device-scale-factor=1", "--hide-scrollbars", "--user-data-dir=" + tb.TempDir()}
}

const width = 1200

// Render opens page in Chromium and returns its images. It fails the test
// when an image is not decoded, is smaller than 300x150, or is blank:
// its embedded PNG has a single colour, or its pixels in a screenshot of
// the page barely vary.
func Render(tb testing.TB, page []byte) []Image {
	tb.Helper()
	bin := Chromium(tb)
	dir := tb.TempDir()
	path := filepath.Join(dir, "page.html")
	if err := os.WriteFile(path, page, 0o644); err != nil {
		tb.Fatal(err)
	}
	imgs, height := probe(tb, bin, dir, page)
	checkEmbedded(tb, page)
	shot := filepath.Join(dir, "shot.png")
	args := append(Flags(tb), fmt.Sprintf("--window-size=%d,%d", width, height), "--screenshot="+shot, "file://"+path)
	if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
		tb.Fatalf("chromium screenshot: %v\n%s", err, out)
	}
	f, err := os.Open(shot)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		tb.Fatalf("decode screenshot: %v", err)
	}
	for _, im := range imgs {
		if im.W < 300 || im.H < 150 {
			tb.Errorf("image %s (%s) decoded as %dx%d", im.Fig, im.Alt, im.W, im.H)
			continue
		}
		r := image.Rect(im.X, im.Y, im.X+im.BoxW, im.Y+im.BoxH)
		if !r.In(img.Bounds()) {
			tb.Errorf("image %s (%s) at %v lies outside the %v screenshot", im.Fig, im.Alt, r, img.Bounds())
			continue
		}
		if v := variance(img, r); v < 100 {
			tb.Errorf("image %s (%s) is blank on screen: pixel variance %.1f", im.Fig, im.Alt, v)
		}
	}
	return imgs
}

// probe loads a copy of page with a script that lists the images.
func probe(tb testing.TB, bin, dir string, page []byte) ([]Image, int) {
	tb.Helper()
	script := `<script>
window.addEventListener('load', () => {
  const r = [...document.images].map(i => { const b = i.getBoundingClientRect();
    return {alt: i.alt, fig: i.parentElement.id, w: i.naturalWidth, h: i.naturalHeight,
      x: Math.round(b.left + scrollX), y: Math.round(b.top + scrollY), boxw: Math.floor(b.width), boxh: Math.floor(b.height)}; });
  const pre = document.createElement('pre'); pre.id = 'check';
  pre.textContent = JSON.stringify({images: r, height: document.documentElement.scrollHeight});
  document.body.appendChild(pre);
});
</script></body>`
	check := filepath.Join(dir, "check.html")
	if err := os.WriteFile(check, []byte(strings.Replace(string(page), "</body>", script, 1)), 0o644); err != nil {
		tb.Fatal(err)
	}
	args := append(Flags(tb), fmt.Sprintf("--window-size=%d,1000", width), "--virtual-time-budget=10000", "--dump-dom", "file://"+check)
	out, err := exec.Command(bin, args...).Output()
	if err != nil {
		tb.Fatalf("chromium: %v", err)
	}
	m := regexp.MustCompile(`<pre id="check">(.*?)</pre>`).FindSubmatch(out)
	if m == nil {
		tb.Fatalf("chromium did not run the check; DOM:\n%.2000s", out)
	}
	var res struct {
		Images []Image // JSON keys match the fields case-insensitively
		Height int
	}
	if err := json.Unmarshal([]byte(strings.ReplaceAll(string(m[1]), "&quot;", `"`)), &res); err != nil {
		tb.Fatalf("parse %s: %v", m[1], err)
	}
	imgs := res.Images
	return imgs, res.Height
}

// checkEmbedded decodes every data: PNG of page and fails on one that has
// a single colour.
func checkEmbedded(tb testing.TB, page []byte) {
	tb.Helper()
	for _, m := range regexp.MustCompile(`src="data:image/png;base64,([^"]+)"`).FindAllSubmatch(page, -1) {
		b, err := base64.StdEncoding.DecodeString(html.UnescapeString(string(m[1])))
		if err != nil {
			tb.Errorf("embedded PNG: %v", err)
			continue
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			tb.Errorf("embedded PNG: %v", err)
			continue
		}
		if variance(img, img.Bounds()) == 0 {
			tb.Errorf("embedded PNG of %v is a single colour", img.Bounds())
		}
	}
}

// variance is the variance of the grey level of img inside r (0..255²).
func variance(img image.Image, r image.Rectangle) float64 {
	var n, sum, sq float64
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			g := float64(cr+cg+cb) / 3 / 257
			n++
			sum += g
			sq += g * g
		}
	}
	if n == 0 {
		return 0
	}
	m := sum / n
	return sq/n - m*m
}
