package main

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"os"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// Colours of the three servers, in servers order.
var palette = []color.RGBA{
	{0x1f, 0x77, 0xb4, 0xff}, // nes-go
	{0xff, 0x7f, 0x0e, 0xff}, // hapi nes
	{0x2c, 0xa0, 0x2c, 0xff}, // centrifuge
}

// group is one cluster of bars: a value per server.
type group struct {
	label  string
	values []float64 // per server; <0: not measured
}

// writeChart draws two bar charts side by side: server CPU per delivery at
// 1,000 and 10,000 subscribers, and memory per idle connection.
func writeChart(path string, rs *results) error {
	const w, h = 960, 420
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)

	get := func(scenario string, match map[string]any, field string, scale float64) []float64 {
		out := make([]float64, len(servers))
		for i, s := range servers {
			v, ok := rs.value(s, scenario, match, field)
			if !ok {
				v = -1
			} else {
				v *= scale
			}
			out[i] = v
		}
		return out
	}
	cpu := []group{
		{"1,000 subscribers", get("fanout", map[string]any{"subs": 1000, "round": "median"}, "server_cpu_us_per_delivery", 1)},
		{"10,000 subscribers", get("fanout", map[string]any{"subs": 10000, "round": "median"}, "server_cpu_us_per_delivery", 1)},
	}
	mem := []group{{"10,000 idle connections", get("conns", nil, "bytes_per_conn", 1.0/1000)}}

	panel(img, image.Rect(20, 20, 560, h-60), "Server CPU per delivered message (microseconds)", cpu)
	panel(img, image.Rect(600, 20, w-20, h-60), "Memory per idle connection (KB)", mem)
	// Legend.
	x := 20
	for i, s := range servers {
		draw.Draw(img, image.Rect(x, h-35, x+14, h-21), &image.Uniform{palette[i]}, image.Point{}, draw.Src)
		text(img, x+20, h-23, s)
		x += 160
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// panel draws grouped bars in r with a title, scaled to the largest value.
func panel(img *image.RGBA, r image.Rectangle, title string, groups []group) {
	text(img, r.Min.X, r.Min.Y+12, title)
	top, bottom := r.Min.Y+40, r.Max.Y-30
	maxV := 0.0
	for _, g := range groups {
		for _, v := range g.values {
			maxV = max(maxV, v)
		}
	}
	if maxV <= 0 {
		maxV = 1
	}
	axis := color.RGBA{0x44, 0x44, 0x44, 0xff}
	draw.Draw(img, image.Rect(r.Min.X, bottom, r.Max.X, bottom+1), &image.Uniform{axis}, image.Point{}, draw.Src)
	groupW := r.Dx() / len(groups)
	for gi, g := range groups {
		barW := (groupW - 40) / len(g.values)
		x0 := r.Min.X + gi*groupW + 20
		for i, v := range g.values {
			x := x0 + i*barW
			if v < 0 {
				text(img, x+2, bottom-4, "n/a")
				continue
			}
			hgt := int(float64(bottom-top) * v / maxV)
			draw.Draw(img, image.Rect(x+4, bottom-hgt, x+barW-4, bottom), &image.Uniform{palette[i]}, image.Point{}, draw.Src)
			text(img, x+4, bottom-hgt-4, fmt.Sprintf("%.3g", v))
		}
		text(img, x0, bottom+18, g.label)
	}
}

func text(img *image.RGBA, x, y int, s string) {
	d := &font.Drawer{
		Dst:  img,
		Src:  image.NewUniform(color.Black),
		Face: basicfont.Face7x13,
		Dot:  fixed.P(x, y),
	}
	d.DrawString(s)
}
