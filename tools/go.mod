module github.com/concertsys/tools

go 1.26

require (
	github.com/concertsys/platform v0.0.0
	github.com/concertsys/services/concerts v0.0.0
	github.com/concertsys/services/notifications v0.0.0
	github.com/concertsys/services/projections v0.0.0
)

replace (
	github.com/concertsys/platform => ../platform
	github.com/concertsys/services/concerts => ../services/concerts
	github.com/concertsys/services/notifications => ../services/notifications
	github.com/concertsys/services/projections => ../services/projections
)
