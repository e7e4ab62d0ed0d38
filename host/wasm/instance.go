package wasm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"

	"github.com/heksher-go/heksher/event"
	"github.com/heksher-go/heksher/internal/abi"
	"github.com/heksher-go/heksher/pluginapi"
)

// hookExports maps event kinds to the guest exports that handle them.
var hookExports = [...]string{
	event.KindDeclared:       abi.ExportOnDeclared,
	event.KindUpdateOK:       abi.ExportOnUpdateOK,
	event.KindUpdateError:    abi.ExportOnUpdateError,
	event.KindSettingChanged: abi.ExportOnSettingChanged,
	event.KindClosing:        abi.ExportOnClosing,
}

const minScratch = 4 << 10

// instance is one instantiated guest. It is owned by whoever holds its
// plugin's call slot: the host functions it serves run on that goroutine, so
// its fields need no lock.
type instance struct {
	p     *Plugin
	mod   api.Module
	alloc api.Function
	free  api.Function
	init  api.Function
	hooks [len(hookExports)]api.Function

	scratchPtr, scratchCap uint32 // the guest-owned event buffer
	enc                    []byte // the host's encoding buffer
	stack                  []uint64

	// State of the current call, used by the host functions.
	inInit     bool
	errSet     bool
	errMsg     []byte
	why        reason // last_error's answer
	features   []pluginapi.Feature
	strs       internTable
	decls      []pluginapi.Declaration
	answering  bool   // get_setting_info is asking (lookupinfo.go)
	answer     []byte // its encoding buffer
	subs       event.Set
	subscribed bool
	selected   bool     // subscribe_setting was called
	selection  []string // the names it was given
	info       eventInfo

	stdout, stderr *lineLogger

	// mem made the instance's linear memory; close releases it.
	mem *memoryAllocator

	wd   *watchdog    // stops a call past its deadline; nil without preemption
	ctx  *callContext // the context of every call; with wd only
	stop func()       // stops the call in flight (Plugin.interrupt); with wd only
}

// newInstance instantiates the plugin's module (running _initialize), makes
// its scratch buffer and calls heksher_init with the plugin's config. ctx
// bounds the whole; a failure returns a *CallError with the module closed.
func (p *Plugin) newInstance(ctx context.Context) (*instance, error) {
	inst := &instance{
		p:      p,
		enc:    make([]byte, 0, minScratch),
		stack:  make([]uint64, 2),
		mem:    &memoryAllocator{},
		stdout: newLineLogger(p, slog.LevelInfo, "stdout"),
		stderr: newLineLogger(p, slog.LevelWarn, "stderr"),
	}
	ctx, cancel := p.callContext(ctx, inst, p.cfg.InitTimeout)
	defer cancel()
	if !p.cfg.DisablePreemption {
		stop := func() { cancel() } // Close ends the instantiation or init
		p.setInterrupt(&stop)
		defer p.interrupt.Store(nil)
	}
	mc := p.modCfg.WithStdout(inst.stdout).WithStderr(inst.stderr)
	mod, err := p.g.rt.InstantiateModule(experimental.WithMemoryAllocator(ctx, inst.mem), p.c.mod, mc)
	if err != nil {
		inst.mem.release()
		inst.stdout.flush()
		inst.stderr.flush()
		return nil, p.callError(abi.ExportInitialize, 0, err)
	}
	inst.mod = mod
	if !p.cfg.DisablePreemption {
		inst.wd = newWatchdog()
		inst.ctx = &callContext{parent: context.Background(), inst: inst, w: inst.wd}
		inst.stop = func() { inst.wd.fire(context.Canceled) }
		inst.mem.inst, inst.stdout.inst, inst.stderr.inst = inst, inst, inst
	}
	inst.alloc = mod.ExportedFunction(abi.ExportAlloc)
	inst.free = mod.ExportedFunction(abi.ExportFree)
	inst.init = mod.ExportedFunction(abi.ExportInit)
	for k, name := range hookExports {
		if name != "" {
			inst.hooks[k] = mod.ExportedFunction(name)
		}
	}
	cfg := p.cfg.Config
	if err := inst.ensureScratch(ctx, max(len(cfg), minScratch)); err != nil {
		inst.close()
		return nil, err
	}
	inst.inInit = true
	status, err := inst.callWithPayload(ctx, inst.init, cfg)
	inst.inInit = false
	if err == nil && status != abi.StatusOK {
		err = p.statusError(inst, abi.ExportInit, 0, status)
	} else if err != nil {
		err = p.callError(abi.ExportInit, 0, err)
	}
	if err != nil {
		inst.close()
		return nil, err
	}
	return inst, nil
}

// ensureScratch makes the guest's event buffer at least n bytes, through
// heksher_free and heksher_alloc. It grows geometrically, so it runs rarely.
func (inst *instance) ensureScratch(ctx context.Context, n int) error {
	if n <= int(inst.scratchCap) {
		return nil
	}
	if n > 1<<30 {
		return &CallError{Plugin: inst.p.cfg.Name, Export: abi.ExportAlloc, Reason: ErrTrap, Err: fmt.Errorf("payload of %d bytes is too large", n)}
	}
	if inst.scratchPtr != 0 {
		inst.stack[0] = api.EncodeU32(inst.scratchPtr)
		if err := inst.free.CallWithStack(ctx, inst.stack); err != nil {
			return inst.p.callError(abi.ExportFree, 0, err)
		}
		inst.scratchPtr, inst.scratchCap = 0, 0
	}
	size := max(uint32(n), 2*inst.scratchCap, minScratch)
	inst.stack[0] = api.EncodeU32(size)
	if err := inst.alloc.CallWithStack(ctx, inst.stack); err != nil {
		return inst.p.callError(abi.ExportAlloc, 0, err)
	}
	ptr := api.DecodeU32(inst.stack[0])
	if ptr == 0 {
		return &CallError{Plugin: inst.p.cfg.Name, Export: abi.ExportAlloc, Reason: ErrTrap, Err: fmt.Errorf("heksher_alloc(%d) returned 0", size)}
	}
	if _, ok := inst.mod.Memory().Read(ptr, size); !ok {
		return &CallError{Plugin: inst.p.cfg.Name, Export: abi.ExportAlloc, Reason: ErrTrap, Err: fmt.Errorf("heksher_alloc(%d) returned %#x, outside memory", size, ptr)}
	}
	inst.scratchPtr, inst.scratchCap = ptr, size
	return nil
}

// callWithPayload writes payload into the scratch buffer and calls fn(ptr,
// len). A non-nil error is wazero's (trap, exit, deadline) or ensureScratch's.
func (inst *instance) callWithPayload(ctx context.Context, fn api.Function, payload []byte) (int32, error) {
	if err := inst.ensureScratch(ctx, len(payload)); err != nil {
		var ce *CallError
		if errors.As(err, &ce) {
			return 0, ce.Err
		}
		return 0, err
	}
	if len(payload) > 0 && !inst.mod.Memory().Write(inst.scratchPtr, payload) {
		return 0, fmt.Errorf("scratch buffer %#x+%d outside memory", inst.scratchPtr, len(payload))
	}
	inst.errSet = false
	inst.errMsg = inst.errMsg[:0]
	inst.why.b = inst.why.b[:0]
	inst.stack[0] = api.EncodeU32(inst.scratchPtr)
	inst.stack[1] = api.EncodeU32(uint32(len(payload)))
	if err := fn.CallWithStack(ctx, inst.stack); err != nil {
		return 0, err
	}
	return api.DecodeI32(inst.stack[0]), nil
}

// memoryPages returns the instance's current linear memory size in pages.
func (inst *instance) memoryPages() uint32 {
	if mem := inst.mod.Memory(); mem != nil {
		return mem.Size() / 65536
	}
	return 0
}

// close releases the instance; safe after wazero closed the module itself.
func (inst *instance) close() {
	if inst.wd != nil {
		inst.wd.close()
	}
	_ = inst.mod.Close(context.Background())
	inst.mem.release() // the guest can no longer run: its call has returned
	inst.stdout.flush()
	inst.stderr.flush()
}
