package logging

import (
	"math/rand/v2"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// TestEncodeISO8601AgreesWithZap: the production lines' "ts" is byte for
// byte what zapcore.ISO8601TimeEncoder wrote, in every kind of zone.
func TestEncodeISO8601AgreesWithZap(t *testing.T) {
	zones := []*time.Location{time.UTC, time.Local, time.FixedZone("IST", 5*3600+1800), time.FixedZone("NPT", 5*3600+2700),
		time.FixedZone("PST", -8*3600), time.FixedZone("LINT", 14*3600), time.FixedZone("NUT", -11*3600),
		time.FixedZone("NFT", -(3*3600 + 1800)), time.FixedZone("LMT", 3600+7)}
	if ny, err := time.LoadLocation("America/New_York"); err == nil {
		zones = append(zones, ny)
	}
	times := []time.Time{{}, time.Unix(0, 0), time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(-5, 1, 1, 0, 0, 0, 0, time.UTC), time.Now()}
	r := rand.New(rand.NewPCG(7, 8))
	for range 3000 {
		times = append(times, time.Unix(r.Int64N(400e9)-100e9, r.Int64N(1e9)))
	}
	cfg := zap.NewProductionEncoderConfig()
	cfg.EncodeTime = zapcore.ISO8601TimeEncoder
	want := zapcore.NewJSONEncoder(cfg)
	cfg.EncodeTime = newISO8601Encoder()
	got := zapcore.NewJSONEncoder(cfg)
	for _, tm := range times {
		for _, z := range zones {
			ent := zapcore.Entry{Time: tm.In(z), Message: "m"}
			w, err := want.EncodeEntry(ent, nil)
			if err != nil {
				t.Fatal(err)
			}
			g, err := got.EncodeEntry(ent, nil)
			if err != nil {
				t.Fatal(err)
			}
			if g.String() != w.String() {
				t.Fatalf("%v: %s, zap %s", ent.Time, g, w)
			}
			w.Free()
			g.Free()
		}
	}
}
