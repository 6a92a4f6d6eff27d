package client

import "testing"

func TestDecodeFrame(t *testing.T) {
	t.Parallel()
	f := DecodeFrame([]byte(`{"type":"REPLAY_DONE","count":0}`))
	if f.Err != nil || f.Type != "REPLAY_DONE" || f.Count == nil || *f.Count != 0 {
		t.Errorf("REPLAY_DONE = %+v", f)
	}
	f = DecodeFrame([]byte(`{"type":"ERROR","code":"TOO_LARGE","message":"m","clientMessageId":"c1"}`))
	if f.Code != "TOO_LARGE" || f.Message != "m" || f.ClientMessageID != "c1" || f.Count != nil {
		t.Errorf("ERROR = %+v", f)
	}
	f = DecodeFrame([]byte(`hello`))
	if f.Err == nil || string(f.Raw) != "hello" || f.Type != "" {
		t.Errorf("not JSON = %+v", f)
	}
	f = DecodeFrame([]byte(`{"type":7}`))
	if f.Err == nil || f.Type != "" {
		t.Errorf("wrong field type = %+v", f)
	}
}

func TestPredicates(t *testing.T) {
	t.Parallel()
	ack := DecodeFrame([]byte(`{"type":"MESSAGE_ACK"}`))
	banned := DecodeFrame([]byte(`{"type":"ERROR","code":"BANNED"}`))
	if !OfType("MESSAGE", "MESSAGE_ACK")(ack) || OfType("MESSAGE")(ack) || OfType()(ack) {
		t.Error("OfType")
	}
	if !ErrorFor("BANNED")(banned) || !ErrorFor("")(banned) || ErrorFor("FORBIDDEN")(banned) || ErrorFor("")(ack) {
		t.Error("ErrorFor")
	}
}
