module github.com/concertsys/services/concerts

go 1.26

require github.com/concertsys/platform v0.0.0

replace github.com/concertsys/platform => ../../platform
