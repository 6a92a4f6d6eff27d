package httpapi

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"

	"github.com/dmchat/dmchat/core/chat"
)

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// writeError writes the contract's JSON error body.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	var b errorBody
	b.Error.Code, b.Error.Message = code, msg
	writeJSON(w, status, b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func badRequest(w http.ResponseWriter, msg string) {
	writeError(w, http.StatusBadRequest, chat.CodeBadRequest, msg)
}

func internal(w http.ResponseWriter) {
	writeError(w, http.StatusInternalServerError, chat.CodeInternal, "internal error")
}

// decodeBody reads a small JSON request body into v. The body is read whole
// first so that text encoding/json would rewrite to U+FFFD (a password of
// invalid bytes matching another one) is refused rather than decoded.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 16<<10))
	if err == nil {
		err = json.NewDecoder(bytes.NewReader(raw)).Decode(v)
	}
	if err != nil {
		badRequest(w, "request body must be a JSON object: "+err.Error())
		return false
	}
	if err := chat.CheckJSONText(raw); err != nil {
		badRequest(w, "request body: "+err.Error())
		return false
	}
	return true
}
