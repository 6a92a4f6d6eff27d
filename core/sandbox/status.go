package sandbox

// InstanceStatus is one instance's figures, read from its own metrics
// registry and node.
type InstanceStatus struct {
	Name string
	Addr string
	// Bus is the bus state: "connected", "lost", "disabled", or "stopped"
	// while the instance is stopped.
	Bus       string
	Listening bool
	// Sockets is the number of open WebSockets on the instance.
	Sockets int
	// Stored, Delivered and Replayed count messages stored by this
	// instance, marked DELIVERED on it, and replayed on connect; Errors
	// counts ERROR frames sent. They restart from 0 when the instance
	// restarts, like a process's metrics.
	Stored, Delivered, Replayed, Errors float64
}

// Status returns every instance's status, in instance order.
func (c *Cluster) Status() []InstanceStatus {
	out := make([]InstanceStatus, 0, len(c.names))
	for _, n := range c.names {
		inst := c.instances[n]
		st := InstanceStatus{Name: n, Addr: inst.Addr(), Bus: "stopped"}
		if srv := inst.Server(); srv != nil {
			node := srv.Node()
			m := node.Metrics()
			st.Listening = true
			st.Bus = node.BusState().String()
			st.Sockets = node.Sockets()
			st.Stored = m.Value("dmchat_messages_stored_total")
			st.Delivered = m.Value("dmchat_messages_delivered_total")
			st.Replayed = m.Value("dmchat_messages_replayed_total")
			st.Errors = m.Value("dmchat_errors_total")
		}
		out = append(out, st)
	}
	return out
}
