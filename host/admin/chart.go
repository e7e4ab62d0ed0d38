package admin

import (
	"fmt"
	"html/template"
	"strconv"
	"strings"
	"time"
)

// The status page's charts are inline SVG drawn here, on the server: they
// need no JavaScript, and each bucket's figures are in its data-*
// attributes and its <title> (a tooltip), so a test or a script can read
// them from the DOM.

// Chart geometry, in pixels: one bar slot a bucket.
const (
	chartSlot   = 8
	chartBar    = 6
	chartLeft   = 56 // room for the scale's label
	chartRight  = 8
	chartTop    = 6
	chartPlot   = 64 // the plot's height
	chartBottom = 16 // room for the time axis
)

// chartKind is what a chart draws of a series.
type chartKind string

const (
	chartLatency  chartKind = "latency"  // mean (dark) and largest (light) duration per bucket
	chartOutcomes chartKind = "outcomes" // count per bucket, the failed part in red
)

// chart renders one series of hs as an SVG bar chart. id names the chart
// (data-chart), noun what a bucket counts ("updates", "deliveries").
func chart(hs *HistorySnapshot, s Series, kind chartKind, id, noun string) template.HTML {
	if hs == nil || hs.Buckets <= 0 || hs.Bucket <= 0 {
		return ""
	}
	width := chartLeft + hs.Buckets*chartSlot + chartRight
	height := chartTop + chartPlot + chartBottom
	count, errs := s.Totals()
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img"`,
		width, height, width, height)
	fmt.Fprintf(&b, ` data-chart="%s" data-series="%s" data-kind="%s" data-count="%d" data-errors="%d" data-buckets="%d" data-bucket-seconds="%g"`,
		esc(id), esc(s.Name), kind, count, errs, hs.Buckets, hs.Bucket.Seconds())
	label := fmt.Sprintf("%s of %s over the last %s: %d, %d failed", kind, s.Name, span(hs), count, errs)
	fmt.Fprintf(&b, ` aria-label="%s">`, esc(label))
	fmt.Fprintf(&b, `<title>%s</title>`, esc(label))
	// Frame, base line and time axis.
	base := chartTop + chartPlot
	right := chartLeft + hs.Buckets*chartSlot
	fmt.Fprintf(&b, `<rect class="frame" x="%d" y="%d" width="%d" height="%d"/>`, chartLeft, chartTop, right-chartLeft, chartPlot)
	fmt.Fprintf(&b, `<text class="axis" x="%d" y="%d">−%s</text>`, chartLeft, height-3, span(hs))
	fmt.Fprintf(&b, `<text class="axis" x="%d" y="%d" text-anchor="end">now</text>`, right, height-3)

	top := scaleTop(s, kind)
	if top == 0 {
		fmt.Fprintf(&b, `<text class="empty" x="%d" y="%d" text-anchor="middle">no %s in the last %s</text>`,
			(chartLeft+right)/2, chartTop+chartPlot/2+4, noun, span(hs))
		b.WriteString(`</svg>`)
		return template.HTML(b.String())
	}
	topLabel := strconv.FormatUint(uint64(top), 10) + "/" + short(hs.Bucket)
	if kind == chartLatency {
		topLabel = short(time.Duration(top))
	}
	fmt.Fprintf(&b, `<text class="scale" x="%d" y="%d" text-anchor="end">%s</text>`, chartLeft-4, chartTop+9, esc(topLabel))
	fmt.Fprintf(&b, `<text class="scale" x="%d" y="%d" text-anchor="end">0</text>`, chartLeft-4, base)

	height01 := func(v float64) int {
		h := int(v / float64(top) * chartPlot)
		if v > 0 && h < 1 {
			h = 1 // a bucket with something in it stays visible
		}
		return h
	}
	first := hs.From.UnixNano() / int64(hs.Bucket)
	for _, p := range s.Points {
		slot := int(p.Start.UnixNano()/int64(hs.Bucket) - first)
		if slot < 0 || slot >= hs.Buckets {
			continue
		}
		x := chartLeft + slot*chartSlot + (chartSlot-chartBar)/2
		title := fmt.Sprintf("%s: %d %s, %d failed", p.Start.Format("15:04:05 UTC"), p.Count, noun, p.Errors)
		if p.NotModified > 0 {
			title += fmt.Sprintf(", %d not modified", p.NotModified)
		}
		title += fmt.Sprintf("; mean %s, max %s", short(p.Mean), short(p.Max))
		fmt.Fprintf(&b, `<g class="bucket" data-start="%s" data-count="%d" data-errors="%d" data-mean-ms="%s" data-max-ms="%s"><title>%s</title>`,
			p.Start.Format(time.RFC3339), p.Count, p.Errors, ms(p.Mean), ms(p.Max), esc(title))
		switch kind {
		case chartLatency:
			hMax, hMean := height01(float64(p.Max)), height01(float64(p.Mean))
			fmt.Fprintf(&b, `<rect class="max" x="%d" y="%d" width="%d" height="%d"/>`, x, base-hMax, chartBar, hMax)
			fmt.Fprintf(&b, `<rect class="mean" x="%d" y="%d" width="%d" height="%d"/>`, x, base-hMean, chartBar, hMean)
		case chartOutcomes:
			hAll, hErr := height01(float64(p.Count)), height01(float64(p.Errors))
			if hOK := hAll - hErr; hOK > 0 {
				fmt.Fprintf(&b, `<rect class="ok" x="%d" y="%d" width="%d" height="%d"/>`, x, base-hAll, chartBar, hOK)
			}
			if hErr > 0 {
				fmt.Fprintf(&b, `<rect class="failed" x="%d" y="%d" width="%d" height="%d"/>`, x, base-hErr, chartBar, hErr)
			}
		}
		b.WriteString(`</g>`)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// scaleTop is the value at the top of the plot: the largest duration, or
// the largest count.
func scaleTop(s Series, kind chartKind) int64 {
	var top int64
	for _, p := range s.Points {
		v := int64(p.Count)
		if kind == chartLatency {
			v = int64(p.Max)
		}
		top = max(top, v)
	}
	return top
}

// span is the window's length, as "60m".
func span(hs *HistorySnapshot) string {
	return short(hs.Bucket * time.Duration(hs.Buckets))
}

// short formats d to about three significant digits: "1.23ms", "45µs",
// "1m".
func short(d time.Duration) string {
	switch {
	case d >= time.Minute && d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	case d >= time.Second:
		return d.Round(10 * time.Millisecond).String()
	case d >= 10*time.Millisecond:
		return d.Round(100 * time.Microsecond).String()
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond).String()
	case d >= time.Microsecond:
		return d.Round(time.Microsecond).String()
	}
	return d.String()
}

// ms formats d in milliseconds for a data attribute.
func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 3, 64)
}

func esc(s string) string { return template.HTMLEscapeString(s) }
