package model

import (
	"math"
	"time"
)

// Decay returns per-event weights multiplied by SAR's time decay,
//
//	w_k · 0.5^((now - t_k) / halfLife)
//
// so an event halfLife old counts half as much as one at now. weights nil
// means 1 per event; times are Unix seconds, one per event. The result is
// a new slice; weights is not modified. Events after now get factors above
// 1, as in SAR. halfLife <= 0 returns the weights unchanged (or nil).
func Decay(weights []float32, times []uint32, now time.Time, halfLife time.Duration) []float32 {
	if halfLife <= 0 {
		return weights
	}
	out := make([]float32, len(times))
	ref := now.Unix()
	inv := 1 / halfLife.Seconds()
	// Many events share a second; remember the last factor.
	lastT, lastF := int64(math.MinInt64), 0.0
	for k, t := range times {
		if int64(t) != lastT {
			lastT, lastF = int64(t), math.Exp2(-float64(ref-int64(t))*inv)
		}
		w := 1.0
		if weights != nil {
			w = float64(weights[k])
		}
		out[k] = float32(w * lastF)
	}
	return out
}

// Newest returns the latest of times (Unix seconds) as a time, the zero
// time when times is empty. It is SAR's default reference for Decay.
func Newest(times []uint32) time.Time {
	if len(times) == 0 {
		return time.Time{}
	}
	var t uint32
	for _, v := range times {
		t = max(t, v)
	}
	return time.Unix(int64(t), 0).UTC()
}
