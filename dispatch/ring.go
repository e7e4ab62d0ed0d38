package dispatch

// ring is a growable FIFO of items; pop and push are O(1) amortised, and
// dropping the head is O(1) (the common drop-oldest case).
type ring struct {
	buf   []item
	head  int
	count int
}

func (r *ring) len() int { return r.count }

func (r *ring) push(it item) {
	if r.count == len(r.buf) {
		n := max(8, 2*len(r.buf))
		nb := make([]item, n)
		for i := range r.count {
			nb[i] = r.buf[(r.head+i)%len(r.buf)]
		}
		r.buf, r.head = nb, 0
	}
	r.buf[(r.head+r.count)%len(r.buf)] = it
	r.count++
}

func (r *ring) pop() item {
	it := r.buf[r.head]
	r.buf[r.head] = item{}
	r.head = (r.head + 1) % len(r.buf)
	r.count--
	return it
}

// dropOldest removes the oldest item for which droppable is true and reports
// whether there was one.
func (r *ring) dropOldest(droppable func(item) bool) bool {
	for i := range r.count {
		if !droppable(r.buf[(r.head+i)%len(r.buf)]) {
			continue
		}
		// Shift the items before it forward by one, then drop the head.
		for j := i; j > 0; j-- {
			r.buf[(r.head+j)%len(r.buf)] = r.buf[(r.head+j-1)%len(r.buf)]
		}
		r.pop()
		return true
	}
	return false
}
