package lambdainvoke

// ColdStarts is how many execution environments f has started.
func ColdStarts(f *Function) int64 { return f.started.Load() }

// IdleEnvironments is how many of f's environments wait for an invocation.
func IdleEnvironments(f *Function) int64 { return f.idle.Load() }
