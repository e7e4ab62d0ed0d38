package host

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"

	"github.com/heksher-go/heksher/internal/atomicfile"
	"github.com/heksher-go/heksher/pluginapi"
)

// The declaration cache: the settings each running plugin declared, saved
// in the state directory, so that at the next start the host declares them
// before its first update, while the plugins load after it. A plugin's
// settings then get their values from the first update, or from the saved
// snapshot when the service is down at start, as the host's own do, with
// no plugin holding up that update. An entry is used only for a plugin
// whose file hash and configuration (its key) are unchanged since.

// declCacheFile is the cache's name in the state directory.
const declCacheFile = "plugin-declarations.json"

type declCache struct {
	Version int                       `json:"version"`
	Plugins map[string]declCacheEntry `json:"plugins"`
}

type declCacheEntry struct {
	Key          string                  `json:"key"`
	Declarations []pluginapi.Declaration `json:"declarations"`
}

// readDeclCache reads the cache at path; a missing or unreadable one is
// empty.
func readDeclCache(path string) map[string]declCacheEntry {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var c declCache
	if json.Unmarshal(b, &c) != nil || c.Version != 1 {
		return nil
	}
	return c.Plugins
}

// writeDeclCache replaces the cache at path atomically.
func writeDeclCache(path string, plugins map[string]declCacheEntry) error {
	b, err := json.Marshal(declCache{Version: 1, Plugins: plugins})
	if err != nil {
		return err
	}
	if err := atomicfile.Write(path, b); err != nil {
		return fmt.Errorf("host: saving the plugins' declarations: %w", err)
	}
	return nil
}

// saveDeclsLocked saves the declarations of the running plugins; m.mu is
// held. A failure is logged: the cache only saves time at the next start.
func (m *manager) saveDeclsLocked() {
	if m.declCachePath == "" {
		return
	}
	plugins := make(map[string]declCacheEntry, len(m.running))
	for _, sp := range m.starting {
		if e, ok := m.cached[sp.Name]; ok {
			plugins[sp.Name] = e
		}
	}
	for n, lp := range m.running {
		plugins[n] = declCacheEntry{Key: lp.key, Declarations: lp.decls}
	}
	if err := writeDeclCache(m.declCachePath, plugins); err != nil {
		m.log.Warn("saving the plugins' declarations", "err", err)
	}
}

// predeclareLocked declares, before the first update, the settings that
// the configured plugins declared in the previous run, for each plugin
// whose key is unchanged; m.mu is held.
func (m *manager) predeclareLocked(specs []keyedSpec) {
	if m.declCachePath == "" {
		return
	}
	cache := readDeclCache(m.declCachePath)
	if len(cache) == 0 {
		return
	}
	m.cached = cache
	m.predeclared = map[string][]pluginapi.Declaration{}
	for _, s := range specs {
		e, ok := cache[s.name]
		if !ok || e.Key != s.key || len(e.Declarations) == 0 {
			continue
		}
		var decls []pluginapi.Declaration
		for _, d := range e.Declarations {
			nd, err := normalize(d)
			if err != nil {
				decls = nil
				break
			}
			decls = append(decls, nd)
		}
		if decls == nil || m.reg.check(s.name, decls) != nil {
			continue
		}
		fresh := m.reg.add(s.name, decls)
		if len(fresh) > 0 && m.declare != nil {
			if err := m.declare(m.background(), fresh); err != nil {
				m.reg.removeOwner(s.name)
				m.log.Warn("declaring a plugin's settings from its last run", "plugin", s.name, "err", err)
				continue
			}
		}
		m.predeclared[s.name] = decls
	}
}

// keyedSpec names a configured plugin and its key.
type keyedSpec struct{ name, key string }

// sameDecls reports whether a and b declare the same settings alike.
func sameDecls(a, b []pluginapi.Declaration) bool {
	return slices.EqualFunc(a, b, func(x, y pluginapi.Declaration) bool {
		return x.Name == y.Name && compare(x.Name, "", x, y) == nil
	})
}
