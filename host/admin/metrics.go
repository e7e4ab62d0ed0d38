package admin

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds the host's Prometheus metrics in a private registry.
// Counters kept by the host (updates, delivery latency) are fed through its
// methods; per-plugin counters kept by the runtimes and queues are read from
// the plugins function at scrape time. Safe for concurrent use.
type Metrics struct {
	reg          *prometheus.Registry
	updates      prometheus.Counter
	updateErrors prometheus.Counter
	notModified  prometheus.Counter
	updateTime   prometheus.Histogram
	delivery     *prometheus.HistogramVec
	history      *History
}

// NewMetrics registers the host's metrics in a new private registry.
// plugins is called at each scrape for the per-plugin counters; settings
// returns the number of settings known.
func NewMetrics(plugins func() []PluginStatus, settings func() int) *Metrics {
	m := &Metrics{
		reg:     prometheus.NewRegistry(),
		history: NewHistory(0, 0),
		updates: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "heksher_host_update_attempts_total", Help: "Update requests made to the Heksher service.",
		}),
		updateErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "heksher_host_update_errors_total", Help: "Update requests that failed.",
		}),
		notModified: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "heksher_host_update_not_modified_total", Help: "Update requests answered 304 Not Modified.",
		}),
		updateTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "heksher_host_update_duration_seconds", Help: "Duration of update requests.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 4, 9),
		}),
		delivery: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "heksher_host_plugin_delivery_duration_seconds", Help: "Duration of event deliveries to a plugin.",
			Buckets: prometheus.ExponentialBuckets(0.00005, 4, 10),
		}, []string{"plugin"}),
	}
	m.reg.MustRegister(m.updates, m.updateErrors, m.notModified, m.updateTime, m.delivery,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "heksher_host_settings", Help: "Settings known to the host.",
		}, func() float64 { return float64(settings()) }),
		&pluginCollector{plugins: plugins},
	)
	return m
}

// ObserveUpdate records one update attempt.
func (m *Metrics) ObserveUpdate(ok, notModified bool, d time.Duration) {
	m.updates.Inc()
	if !ok {
		m.updateErrors.Inc()
	}
	if notModified {
		m.notModified.Inc()
	}
	m.updateTime.Observe(d.Seconds())
	m.history.ObserveUpdate(time.Now(), d, !ok, notModified)
}

// ObserveDelivery records how long one successful event delivery to plugin
// took; see [Metrics.ObserveDeliveryResult].
func (m *Metrics) ObserveDelivery(plugin string, d time.Duration) {
	m.ObserveDeliveryResult(plugin, d, nil)
}

// ObserveDeliveryResult records how long one event delivery to plugin took
// and whether it failed (err not nil).
func (m *Metrics) ObserveDeliveryResult(plugin string, d time.Duration, err error) {
	m.delivery.WithLabelValues(plugin).Observe(d.Seconds())
	m.history.ObserveDelivery(plugin, time.Now(), d, err != nil)
}

// ForgetPlugin drops the latency series and history of a plugin that was
// removed.
func (m *Metrics) ForgetPlugin(plugin string) {
	m.delivery.DeleteLabelValues(plugin)
	m.history.Forget(plugin)
}

// History returns the per-minute history of the last hour behind the status
// page's charts.
func (m *Metrics) History() *History { return m.history }

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Registry returns the private registry, for tests and embedders that want
// to add their own collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

var (
	descCalls    = prometheus.NewDesc("heksher_host_plugin_calls_total", "Event deliveries attempted, per plugin.", []string{"plugin"}, nil)
	descErrors   = prometheus.NewDesc("heksher_host_plugin_errors_total", "Event deliveries that failed (error, trap, timeout, crash).", []string{"plugin"}, nil)
	descTimeouts = prometheus.NewDesc("heksher_host_plugin_timeouts_total", "Event deliveries that hit their deadline.", []string{"plugin"}, nil)
	descRestarts = prometheus.NewDesc("heksher_host_plugin_restarts_total", "Times the plugin's instance or process was restarted.", []string{"plugin"}, nil)
	descLookups  = prometheus.NewDesc("heksher_host_plugin_lookups_total", "Setting lookups made by the plugin.", []string{"plugin"}, nil)
	descDropped  = prometheus.NewDesc("heksher_host_plugin_dropped_events_total", "Events dropped from the plugin's full queue.", []string{"plugin"}, nil)
	descQueued   = prometheus.NewDesc("heksher_host_plugin_queue_depth", "Events waiting in the plugin's queue.", []string{"plugin"}, nil)
	descUp       = prometheus.NewDesc("heksher_host_plugin_up", "1 when the plugin is running, else 0.", []string{"plugin", "state"}, nil)
)

// The plugin's output (log records, stdout, stderr) lost to its output
// budget.
var (
	descOutputLines = prometheus.NewDesc("heksher_host_plugin_output_dropped_lines_total", "Lines of the plugin's output dropped by its output budget.", []string{"plugin"}, nil)
	descOutputBytes = prometheus.NewDesc("heksher_host_plugin_output_dropped_bytes_total", "Bytes of the plugin's output dropped by its output budget (dropped lines, and the tails cut off long lines).", []string{"plugin"}, nil)
)

// pluginCollector turns the plugins' own counters into metrics at scrape
// time, so the runtimes need no Prometheus dependency.
type pluginCollector struct {
	plugins func() []PluginStatus
}

func (c *pluginCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descCalls, descErrors, descTimeouts, descRestarts, descLookups, descDropped, descQueued, descUp, descOutputLines, descOutputBytes} {
		ch <- d
	}
}

func (c *pluginCollector) Collect(ch chan<- prometheus.Metric) {
	for _, p := range c.plugins() {
		ch <- prometheus.MustNewConstMetric(descCalls, prometheus.CounterValue, float64(p.Calls), p.Name)
		ch <- prometheus.MustNewConstMetric(descErrors, prometheus.CounterValue, float64(p.Errors), p.Name)
		ch <- prometheus.MustNewConstMetric(descTimeouts, prometheus.CounterValue, float64(p.Timeouts), p.Name)
		ch <- prometheus.MustNewConstMetric(descRestarts, prometheus.CounterValue, float64(p.Restarts), p.Name)
		ch <- prometheus.MustNewConstMetric(descLookups, prometheus.CounterValue, float64(p.Lookups), p.Name)
		ch <- prometheus.MustNewConstMetric(descDropped, prometheus.CounterValue, float64(p.Dropped), p.Name)
		ch <- prometheus.MustNewConstMetric(descQueued, prometheus.GaugeValue, float64(p.Queued), p.Name)
		ch <- prometheus.MustNewConstMetric(descOutputLines, prometheus.CounterValue, float64(p.OutputDroppedLines), p.Name)
		ch <- prometheus.MustNewConstMetric(descOutputBytes, prometheus.CounterValue, float64(p.OutputDroppedBytes), p.Name)
		up := 0.0
		if p.State == "running" {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, up, p.Name, p.State)
	}
}
