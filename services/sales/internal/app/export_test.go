package app

// NewGetPaged is NewGet with pages of pageSize hours, so a test pages without
// recording MaxHours hours.
func NewGetPaged(store Store, pageSize int) *Get { return &Get{store: store, pageSize: pageSize} }
