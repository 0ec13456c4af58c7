module github.com/concertsys/services/notifications

go 1.26

require github.com/concertsys/platform v0.0.0

replace github.com/concertsys/platform => ../../platform
