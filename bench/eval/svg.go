package eval

import (
	"fmt"
	"html"
	"math"
	"strings"
)

// Plot is a line plot (or, with CDF series, a distribution plot) rendered
// to a self-contained SVG: axes with ticks and units, one polyline with
// markers per series, dashed reference lines, a legend.
type Plot struct {
	Title, XLabel, YLabel string
	LogX                  bool
	Series                []Series
	HRefs, VRefs          []Ref // horizontal (y = V) and vertical (x = V) reference lines
	YMin                  *float64
}

// Series is one curve.
type Series struct {
	Name   string
	X, Y   []float64
	Dashed bool
	NoDots bool
	Color  string // empty: by position
}

// Ref is a labelled reference line.
type Ref struct {
	V     float64
	Label string
}

var palette = []string{"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"}

const (
	svgW, svgH             = 860, 480
	padL, padR, padT, padB = 70, 250, 40, 55
)

// SVG renders p.
func (p Plot) SVG() string {
	xmin, xmax, ymin, ymax := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, s := range p.Series {
		for i := range s.X {
			x, y := s.X[i], s.Y[i]
			if math.IsNaN(x) || math.IsNaN(y) || (p.LogX && x <= 0) {
				continue
			}
			xmin, xmax = math.Min(xmin, x), math.Max(xmax, x)
			ymin, ymax = math.Min(ymin, y), math.Max(ymax, y)
		}
	}
	for _, r := range p.HRefs {
		ymin, ymax = math.Min(ymin, r.V), math.Max(ymax, r.V)
	}
	for _, r := range p.VRefs {
		if !p.LogX || r.V > 0 {
			xmin, xmax = math.Min(xmin, r.V), math.Max(xmax, r.V)
		}
	}
	if math.IsInf(xmin, 0) {
		xmin, xmax, ymin, ymax = 0, 1, 0, 1
	}
	if ymin > 0 {
		ymin = 0
	}
	if p.YMin != nil {
		ymin = *p.YMin
	}
	if ymax <= ymin {
		ymax = ymin + 1
	}
	ymax += (ymax - ymin) * 0.05
	var xticks []float64
	if p.LogX {
		lo, hi := math.Floor(math.Log10(xmin)), math.Ceil(math.Log10(xmax))
		if hi == lo {
			hi++
		}
		xmin, xmax = math.Pow(10, lo), math.Pow(10, hi)
		for e := lo; e <= hi; e++ {
			xticks = append(xticks, math.Pow(10, e))
		}
	} else {
		if xmax == xmin {
			xmax = xmin + 1
		}
		xticks = niceTicks(xmin, xmax)
		xmin, xmax = math.Min(xmin, xticks[0]), math.Max(xmax, xticks[len(xticks)-1])
	}
	yticks := niceTicks(ymin, ymax)
	ymin, ymax = math.Min(ymin, yticks[0]), math.Max(ymax, yticks[len(yticks)-1])

	pw, ph := float64(svgW-padL-padR), float64(svgH-padT-padB)
	sx := func(x float64) float64 {
		if p.LogX {
			return padL + pw*(math.Log10(x)-math.Log10(xmin))/(math.Log10(xmax)-math.Log10(xmin))
		}
		return padL + pw*(x-xmin)/(xmax-xmin)
	}
	sy := func(y float64) float64 { return padT + ph*(1-(y-ymin)/(ymax-ymin)) }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="Helvetica, Arial, sans-serif" font-size="12">`+"\n", svgW, svgH, svgW, svgH)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%d" y="22" font-size="15" font-weight="bold">%s</text>`+"\n", padL, esc(p.Title))
	// grid and ticks
	for _, t := range yticks {
		y := sy(t)
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e5e5e5"/>`+"\n", padL, y, padL+pw, y)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", padL-6, y+4, fmtTick(t))
	}
	for _, t := range xticks {
		x := sx(t)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%.1f" stroke="#e5e5e5"/>`+"\n", x, padT, x, padT+ph)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", x, padT+ph+16, fmtTick(t))
	}
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.0f" height="%.0f" fill="none" stroke="black"/>`+"\n", padL, padT, pw, ph)
	fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", padL+pw/2, svgH-14, esc(p.XLabel))
	fmt.Fprintf(&b, `<text transform="translate(18 %.1f) rotate(-90)" text-anchor="middle">%s</text>`+"\n", padT+ph/2, esc(p.YLabel))
	// reference lines
	for _, r := range p.HRefs {
		y := sy(r.V)
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#555" stroke-dasharray="2 4" stroke-width="1.5"/>`+"\n", padL, y, padL+pw, y)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="end" fill="#555" font-size="11">%s</text>`+"\n", padL+pw-4, y-4, esc(r.Label))
	}
	for i, r := range p.VRefs {
		if p.LogX && r.V <= 0 {
			continue
		}
		x := sx(r.V)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%.1f" stroke="#555" stroke-dasharray="2 4" stroke-width="1.5"/>`+"\n", x, padT, x, padT+ph)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" fill="#555" font-size="11" text-anchor="end" transform="rotate(-90 %.1f %.1f)">%s</text>`+"\n",
			x-3, float64(padT+8+(i%2)*0), x-3, float64(padT+8), esc(r.Label))
	}
	// series
	for i, s := range p.Series {
		col := palette[i%len(palette)]
		if s.Color != "" {
			col = s.Color
		}
		var pts []string
		for j := range s.X {
			if math.IsNaN(s.Y[j]) || (p.LogX && s.X[j] <= 0) {
				continue
			}
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", sx(s.X[j]), sy(s.Y[j])))
		}
		dash := ""
		if s.Dashed {
			dash = ` stroke-dasharray="7 4"`
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2"%s points="%s"/>`+"\n", col, dash, strings.Join(pts, " "))
		if !s.NoDots {
			for _, pt := range pts {
				xy := strings.Split(pt, ",")
				fmt.Fprintf(&b, `<circle cx="%s" cy="%s" r="3" fill="%s"/>`+"\n", xy[0], xy[1], col)
			}
		}
		ly := float64(padT + 10 + 20*i)
		lx := float64(svgW - padR + 15)
		fmt.Fprintf(&b, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="%s" stroke-width="2"%s/>`+"\n", lx, ly, lx+28, ly, col, dash)
		fmt.Fprintf(&b, `<text x="%.0f" y="%.0f">%s</text>`+"\n", lx+34, ly+4, esc(s.Name))
	}
	b.WriteString("</svg>\n")
	return b.String()
}

func esc(s string) string { return html.EscapeString(s) }

// niceTicks are 4–8 round tick values covering [lo, hi].
func niceTicks(lo, hi float64) []float64 {
	span := hi - lo
	if span <= 0 {
		span = 1
	}
	step := math.Pow(10, math.Floor(math.Log10(span/5)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if span/(step*m) <= 8 {
			step *= m
			break
		}
	}
	var t []float64
	for v := math.Floor(lo/step) * step; v <= hi+step*0.999; v += step {
		t = append(t, math.Round(v/step)*step)
	}
	return t
}

func fmtTick(v float64) string {
	if v == 0 {
		return "0"
	}
	a := math.Abs(v)
	switch {
	case a >= 1e6:
		return fmt.Sprintf("%gM", v/1e6)
	case a >= 1e4:
		return fmt.Sprintf("%gk", v/1e3)
	case a >= 1:
		return fmt.Sprintf("%g", math.Round(v*100)/100)
	default:
		return fmt.Sprintf("%.3g", v)
	}
}
