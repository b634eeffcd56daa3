package lab

import (
	"math"

	"github.com/linx-sdwan/linx/dataplane"
)

// ShareBand is the range of flow counts, out of n flows, that an LBR member
// holding a fraction p of the weight should carry. Each flow lands on a
// Maglev slot chosen by a hash of its 5-tuple, so the count is binomial(n,
// p') with p' the member's share of the LBR's slots, which Maglev makes
// equal to p within 1/LBRSlots (2/LBRSlots allowed here). The band is five
// standard deviations wide each way, so a correct data path falls outside it
// about once in a million runs.
func ShareBand(n int, p float64) (lo, hi int) {
	const eps = 2.0 / dataplane.LBRSlots
	sigma := math.Sqrt(float64(n) * p * (1 - p))
	lo = int(math.Floor(float64(n)*(p-eps) - 5*sigma))
	hi = int(math.Ceil(float64(n)*(p+eps) + 5*sigma))
	return max(lo, 0), min(hi, n)
}

// Tunnel1Weight is tunnel 1's fraction of LBR 1's weight.
const Tunnel1Weight = float64(Weight1) / float64(Weight1+Weight2)
