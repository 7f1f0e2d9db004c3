// OMS "Pausing a Migration Task Group" on Go's net/http (standard library only, state in memory).
//
// Run as: stopserver -addr 127.0.0.1:PORT (OMS_SEED from the environment).
// STACK_DEFAULTS (comma-separated) turns a careful choice back into the stack's default, for the tests:
// "servemux" (routes with http.ServeMux on r.URL.Path: percent-decoded, so an id's %2F is a separator, and
// ServeMux answers 301 to a path with "//" - an empty id - or a dot segment).
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"log"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

const (
	maxID    = 1024
	maxToken = 16384
	pausing  = 7
)

type caller struct {
	project   string
	mayUpdate bool
}

type groupKey struct{ project, group string }

type store struct {
	mu     sync.Mutex
	tokens map[string]caller
	groups map[groupKey]int
}

func loadStore(path string) (*store, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	s := &store{tokens: map[string]caller{}, groups: map[groupKey]int{}}
	lines := bufio.NewScanner(f)
	for lines.Scan() {
		fields := strings.Split(lines.Text(), "\t")
		switch fields[0] {
		case "token":
			s.tokens[fields[1]] = caller{fields[2], fields[3] == "1"}
		case "group":
			status, err := strconv.Atoi(fields[3])
			if err != nil {
				return nil, err
			}
			s.groups[groupKey{fields[1], fields[2]}] = status
		}
	}
	return s, lines.Err()
}

// stop pauses a pausable group and returns its status before the stop (ok false: no such group).
func (s *store) stop(key groupKey) (status int, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	status, ok = s.groups[key]
	if ok && (status == 1 || status == 2) {
		s.groups[key] = pausing
	}
	return status, ok
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error_code": code, "error_msg": msg})
}

func invalidParameters(w http.ResponseWriter) {
	writeError(w, http.StatusBadRequest, "OMS.0064", "Invalid request parameters.")
}

// validID: an id as the client meant it is UTF-8 of 1 to 1,024 characters.
func validID(id string) bool {
	n := utf8.RuneCountInString(id)
	return utf8.ValidString(id) && n >= 1 && n <= maxID
}

type api struct{ store *store }

// ServeHTTP routes on the path as sent: r.URL.Path is already percent-decoded, so an id's %2F would be a
// separator there (a group id "g%2Fstop" would route as the stop of g).
func (a api) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.route(w, r, r.URL.EscapedPath(), true)
}

func (a api) route(w http.ResponseWriter, r *http.Request, path string, escaped bool) {
	parts := strings.Split(path, "/") // "", "v2", project, "taskgroups", group, "stop"
	if len(parts) != 6 || parts[0] != "" || parts[1] != "v2" || parts[3] != "taskgroups" || parts[5] != "stop" {
		writeError(w, http.StatusNotFound, "OMS.0404", "Not found.")
		return
	}
	if r.Method != http.MethodPut {
		w.Header().Set("Allow", http.MethodPut)
		writeError(w, http.StatusMethodNotAllowed, "OMS.0405", "Method not allowed.")
		return
	}
	project, group := parts[2], parts[4]
	if escaped {
		var err1, err2 error
		project, err1 = url.PathUnescape(project)
		group, err2 = url.PathUnescape(group)
		if err1 != nil || err2 != nil {
			invalidParameters(w)
			return
		}
	}
	a.stop(w, r, groupKey{project, group})
}

func (a api) stop(w http.ResponseWriter, r *http.Request, key groupKey) {
	token := r.Header.Get("X-Auth-Token")
	if strings.TrimSpace(token) == "" || utf8.RuneCountInString(token) > maxToken {
		invalidParameters(w)
		return
	}
	if !validID(key.project) || !validID(key.group) {
		invalidParameters(w)
		return
	}
	who, known := a.store.tokens[token]
	if !known {
		writeError(w, http.StatusForbidden, "OMS.0003", "Authentication failed.")
		return
	}
	if who.project != key.project || !who.mayUpdate {
		writeError(w, http.StatusForbidden, "OMS.0003", "Forbidden.")
		return
	}
	status, exists := a.store.stop(key)
	switch {
	case !exists:
		writeError(w, http.StatusBadRequest, "OMS.1009", "No resources found.")
	case status != 1 && status != 2:
		writeError(w, http.StatusBadRequest, "OMS.0066", "The task group is not running, no need to stop it.")
	default:
		w.WriteHeader(http.StatusOK)
	}
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	flag.Parse()
	s, err := loadStore(os.Getenv("OMS_SEED"))
	if err != nil {
		log.Fatal(err)
	}
	var handler http.Handler = api{s}
	if strings.Contains(os.Getenv("STACK_DEFAULTS"), "servemux") {
		mux := http.NewServeMux()
		mux.HandleFunc("/v2/", func(w http.ResponseWriter, r *http.Request) {
			api{s}.route(w, r, r.URL.Path, false)
		})
		handler = mux
	}
	// MaxHeaderBytes (1 MiB by default, the request line included) already fits the page's ~41 KB heads.
	server := &http.Server{Addr: *addr, Handler: handler, MaxHeaderBytes: http.DefaultMaxHeaderBytes}
	log.Fatal(server.ListenAndServe())
}
