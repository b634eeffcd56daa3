package eval

import (
	"slices"

	"github.com/linx-sdwan/linx/bench/ctl"
)

// Results is everything a run measured: raw samples and summaries. It is
// written as bench/results/latest.json.
type Results struct {
	Meta Meta `json:"meta"`

	// Headline figures (medians; the Ratio fields carry min–max and samples).
	UplinkVsBare        float64          `json:"uplink_vs_bare"`
	UplinkVsKernel      float64          `json:"uplink_vs_kernel"`
	UplinkVsKernelVXLAN float64          `json:"uplink_vs_kernel_vxlan"`
	UplinkVsUserspace   float64          `json:"uplink_vs_userspace"`
	DownlinkVsBare      float64          `json:"downlink_vs_bare"`
	InstallEntriesPerS  float64          `json:"install_entries_per_s"`
	WriteP50us          float64          `json:"write_p50_us"`
	WriteP99us          float64          `json:"write_p99_us"`
	EmptyRPCP50us       float64          `json:"empty_rpc_p50_us"`
	EmptyRPCP99us       float64          `json:"empty_rpc_p99_us"`
	WriteToForwardP50us float64          `json:"write_to_forward_p50_us"`
	WriteToForwardP99us float64          `json:"write_to_forward_p99_us"`
	AgentRSSMiB100kPDRs float64          `json:"agent_rss_mib_100k_pdrs"`
	AgentRSSMiBEmpty    float64          `json:"agent_rss_mib_empty"`
	Ratios              map[string]Ratio `json:"ratios"`

	Throughput []Throughput `json:"throughput"` // Fig. 3
	Load       []Load       `json:"cpu_load"`   // Table I
	Loss       []LossPoint  `json:"loss"`       // Fig. 5: every paced trial
	ZeroLoss   []ZeroLoss   `json:"zero_loss"`  // Fig. 5: RFC 2544 style

	Write               Summary    `json:"write"` // Fig. 4
	Empty               Summary    `json:"empty_rpc"`
	WriteToForward      Summary    `json:"write_to_forward"`
	WriteToFwdFromStart Summary    `json:"write_to_forward_from_write_start"`
	Install             []Install  `json:"install"`
	Samples             CtlSamples `json:"samples_us"`
}

// Meta describes the run.
type Meta struct {
	Date, Commit, Kernel, CPU, Go string
	CPUs                          int
	Quick                         bool
	Rounds                        int
	FramesPerRun                  uint32
	Seconds                       float64
	// ControlRun, when set, says that the control-plane figures come from a
	// later run than the data-path ones (linx-bench -only control,w2f -keep).
	ControlRun string `json:",omitempty"`
}

// Throughput is one case, size and core count of Fig. 3, over rounds.
type Throughput struct {
	Case             string
	Size, Cores      int
	Mpps             []float64 // per round: sink frames / (generator time + drain)
	LossPct          []float64 // per round (unpaced: the generator outruns a slower forwarder)
	Median, Min, Max float64   // Mpps
	Gbps             float64   // median Mpps × frame bits (L2, without preamble and gap)
}

func (t *Throughput) summarize() {
	t.Median, t.Min, t.Max = median(t.Mpps), slices.Min(t.Mpps), slices.Max(t.Mpps)
	t.Gbps = t.Median * float64(t.Size) * 8 / 1e3
}

// Load is one point of Table I.
type Load struct {
	Case                                     string
	Size, Cores                              int
	OfferedMpps, AchievedMpps, DeliveredMpps float64
	Busy                                     []float64 // % per CPU over the run
	LossPct                                  float64
}

// LossPoint is one paced trial.
type LossPoint struct {
	Case                      string
	Size                      int
	OfferedMpps, AchievedMpps float64
	LossPct                   float64
}

// ZeroLoss is the highest rate with no loss found by the search.
type ZeroLoss struct {
	Case string
	Size int
	Mpps float64
}

// Ratio is a per-round ratio: median, min–max and the samples.
type Ratio struct {
	Median, Min, Max float64
	Samples          []float64
}

// Install is one batch size: n PDRs in one Write.
type Install struct {
	PDRs        int
	Seconds     []float64
	EntriesPerS float64 // median
}

// CtlSamples are the raw latencies of Fig. 4, in µs.
type CtlSamples struct {
	Write, Empty, WriteToForward []float64
}

func (r *Results) tp(name string, size, cores int) *Throughput {
	for i := range r.Throughput {
		t := &r.Throughput[i]
		if t.Case == name && t.Size == size && t.Cores == cores {
			return t
		}
	}
	return nil
}

// summarizeDataPath computes the per-round ratios at the smallest size, 1 core.
func (r *Results) summarizeDataPath() {
	if r.Ratios == nil {
		r.Ratios = map[string]Ratio{}
	}
	if len(r.Throughput) == 0 {
		return
	}
	size := r.Throughput[0].Size
	ratio := func(a, b string, cores int) Ratio {
		ta, tb := r.tp(a, size, cores), r.tp(b, size, cores)
		if ta == nil || tb == nil {
			return Ratio{}
		}
		var s []float64
		for i := range min(len(ta.Mpps), len(tb.Mpps)) {
			if tb.Mpps[i] > 0 {
				s = append(s, ta.Mpps[i]/tb.Mpps[i])
			}
		}
		if len(s) == 0 {
			return Ratio{}
		}
		return Ratio{Median: median(s), Min: slices.Min(s), Max: slices.Max(s), Samples: s}
	}
	for _, p := range [][2]string{{"uplink", "bare"}, {"uplink", "kernel"}, {"uplink", "kernel-vxlan"}, {"uplink", "userspace"},
		{"downlink", "bare"}, {"downlink", "kernel"}, {"kernel", "bare"}, {"userspace", "bare"}} {
		r.Ratios[p[0]+"_vs_"+p[1]] = ratio(p[0], p[1], 1)
		if c2 := ratio(p[0], p[1], 2); c2.Median > 0 {
			r.Ratios[p[0]+"_vs_"+p[1]+"_2cores"] = c2
		}
	}
	r.UplinkVsBare = r.Ratios["uplink_vs_bare"].Median
	r.UplinkVsKernel = r.Ratios["uplink_vs_kernel"].Median
	r.UplinkVsKernelVXLAN = r.Ratios["uplink_vs_kernel-vxlan"].Median
	r.UplinkVsUserspace = r.Ratios["uplink_vs_userspace"].Median
	r.DownlinkVsBare = r.Ratios["downlink_vs_bare"].Median
}

// RequiredKeys are the JSON keys issue 13 asks for.
var RequiredKeys = []string{"uplink_vs_bare", "uplink_vs_kernel", "uplink_vs_userspace", "downlink_vs_bare",
	"install_entries_per_s", "write_p50_us", "write_p99_us", "empty_rpc_p50_us", "write_to_forward_p99_us",
	"agent_rss_mib_100k_pdrs"}

// Summary is a latency distribution in µs.
type Summary = ctl.Summary
