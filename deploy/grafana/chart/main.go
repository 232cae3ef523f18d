// Command chart samples a running clusterdns's /metrics while it is under
// load and draws the dashboard's main panels (responses per second by rcode,
// request duration p50/p99) as an SVG: the rendered chart of a real run that
// the README shows. See run.sh.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"math"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

type sample struct {
	t         time.Time
	responses map[string]float64 // rcode -> count
	buckets   map[float64]float64
	count     float64
	sum       float64
}

func scrape(url string) (sample, error) {
	s := sample{t: time.Now(), responses: map[string]float64{}, buckets: map[float64]float64{}}
	resp, err := http.Get(url)
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		sp := strings.LastIndexByte(line, ' ')
		if sp < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[sp+1:], 64)
		if err != nil {
			continue
		}
		name := line[:sp]
		switch {
		case strings.HasPrefix(name, "coredns_dns_responses_total{"):
			s.responses[label(name, "rcode")] += v
		case strings.HasPrefix(name, "coredns_dns_request_duration_seconds_bucket{"):
			le, err := strconv.ParseFloat(label(name, "le"), 64)
			if err != nil {
				le = math.Inf(1)
			}
			s.buckets[le] += v
		case strings.HasPrefix(name, "coredns_dns_request_duration_seconds_count{"):
			s.count += v
		case strings.HasPrefix(name, "coredns_dns_request_duration_seconds_sum{"):
			s.sum += v
		}
	}
	return s, sc.Err()
}

func label(series, key string) string {
	i := strings.Index(series, key+`="`)
	if i < 0 {
		return ""
	}
	rest := series[i+len(key)+2:]
	return rest[:strings.IndexByte(rest, '"')]
}

// quantile is the upper bound of the bucket holding the q-quantile of the
// observations between two samples: what the histogram can say, no more.
func quantile(q float64, a, b sample) float64 {
	n := b.count - a.count
	if n <= 0 {
		return math.NaN()
	}
	var les []float64
	for le := range b.buckets {
		les = append(les, le)
	}
	sort.Float64s(les)
	prevLe := 0.0
	for _, le := range les {
		c := b.buckets[le] - a.buckets[le]
		if c >= q*n {
			if math.IsInf(le, 1) {
				return prevLe
			}
			return le
		}
		prevLe = le
	}
	return prevLe
}

type series struct {
	name   string
	color  string
	points []float64
}

func main() {
	url := flag.String("metrics", "http://127.0.0.1:9153/metrics", "clusterdns /metrics URL")
	dur := flag.Duration("duration", 30*time.Second, "how long to sample")
	every := flag.Duration("every", time.Second, "sampling interval")
	out := flag.String("out", "chart.svg", "SVG file to write")
	title := flag.String("title", "clusterdns under dnsperf", "chart title")
	flag.Parse()
	var samples []sample
	end := time.Now().Add(*dur)
	for time.Now().Before(end) {
		s, err := scrape(*url)
		if err != nil {
			fmt.Fprintln(os.Stderr, "chart:", err)
			os.Exit(1)
		}
		samples = append(samples, s)
		time.Sleep(*every)
	}
	if len(samples) < 3 {
		fmt.Fprintln(os.Stderr, "chart: too few samples")
		os.Exit(1)
	}
	rcodes := map[string]bool{}
	for _, s := range samples {
		for r := range s.responses {
			rcodes[r] = true
		}
	}
	colors := map[string]string{"NOERROR": "#2e7d32", "NXDOMAIN": "#1565c0", "SERVFAIL": "#c62828", "REFUSED": "#6a1b9a"}
	var rates []series
	for _, r := range []string{"NOERROR", "NXDOMAIN", "SERVFAIL", "REFUSED"} {
		if !rcodes[r] {
			continue
		}
		se := series{name: r, color: colors[r]}
		for i := 1; i < len(samples); i++ {
			dt := samples[i].t.Sub(samples[i-1].t).Seconds()
			se.points = append(se.points, (samples[i].responses[r]-samples[i-1].responses[r])/dt)
		}
		rates = append(rates, se)
	}
	mean := series{name: "mean", color: "#2e7d32"}
	p99bound := 0.0
	for i := 1; i < len(samples); i++ {
		a, b := samples[i-1], samples[i]
		if n := b.count - a.count; n > 0 {
			mean.points = append(mean.points, 1e6*(b.sum-a.sum)/n)
		} else {
			mean.points = append(mean.points, math.NaN())
		}
		p99bound = max(p99bound, quantile(0.99, a, b))
	}
	var b strings.Builder
	W, H := 900, 560
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`, W, H)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/><text x="20" y="24" font-size="16" font-weight="bold">%s</text>`, W, H, *title)
	plot(&b, 60, 50, W-90, 190, "responses per second by rcode (coredns_dns_responses_total)", "", rates, *every)
	plot(&b, 60, 320, W-90, 190, fmt.Sprintf("time in the server per request, µs (mean of coredns_dns_request_duration_seconds; p99 ≤ %g µs, its first bucket)", p99bound*1e6), "µs", []series{mean}, *every)
	b.WriteString("</svg>\n")
	if err := os.WriteFile(*out, []byte(b.String()), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "chart:", err)
		os.Exit(1)
	}
}

func plot(b *strings.Builder, x, y, w, h int, title, unit string, ss []series, every time.Duration) {
	maxV := 0.0
	n := 0
	for _, s := range ss {
		for _, v := range s.points {
			if !math.IsNaN(v) && v > maxV {
				maxV = v
			}
		}
		n = max(n, len(s.points))
	}
	if maxV == 0 {
		maxV = 1
	}
	maxV = niceCeil(maxV)
	fmt.Fprintf(b, `<text x="%d" y="%d" font-weight="bold">%s</text>`, x, y-8, title)
	fmt.Fprintf(b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#999"/>`, x, y, w, h)
	for i := 0; i <= 4; i++ {
		v := maxV * float64(i) / 4
		yy := y + h - int(float64(h)*float64(i)/4)
		fmt.Fprintf(b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#eee"/><text x="%d" y="%d" text-anchor="end">%s</text>`, x, yy, x+w, yy, x-4, yy+4, human(v))
	}
	_ = unit
	fmt.Fprintf(b, `<text x="%d" y="%d">0 s</text><text x="%d" y="%d" text-anchor="end">%s</text>`, x, y+h+16, x+w, y+h+16, (time.Duration(n) * every).String())
	for i, s := range ss {
		var pts []string
		for j, v := range s.points {
			if math.IsNaN(v) {
				continue
			}
			px := x + int(float64(w)*float64(j)/float64(max(n-1, 1)))
			py := y + h - int(float64(h)*v/maxV)
			pts = append(pts, fmt.Sprintf("%d,%d", px, py))
		}
		fmt.Fprintf(b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`, s.color, strings.Join(pts, " "))
		fmt.Fprintf(b, `<rect x="%d" y="%d" width="12" height="12" fill="%s"/><text x="%d" y="%d">%s</text>`, x+w-170, y+10+i*18, s.color, x+w-152, y+21+i*18, s.name)
	}
}

func niceCeil(v float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func human(v float64) string {
	switch {
	case v >= 1e6:
		return strconv.FormatFloat(v/1e6, 'g', 3, 64) + "M"
	case v >= 1e3:
		return strconv.FormatFloat(v/1e3, 'g', 3, 64) + "k"
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}
