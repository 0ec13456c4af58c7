package localauth_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/concertsys/tools/local/localauth"
)

func Example() {
	iss, err := localauth.New()
	if err != nil {
		fmt.Println(err)
		return
	}
	token, err := iss.Token("alice", []string{localauth.OrganizersGroup}, time.Hour)
	if err != nil {
		fmt.Println(err)
		return
	}
	claims, err := iss.Verifier().Verify(token)
	fmt.Println(claims["sub"], claims["token_use"], err)
	fmt.Println(localauth.RequireGroup(claims, localauth.OrganizersGroup))

	_, err = iss.Verifier().Verify("garbage")
	fmt.Println(errors.Is(err, localauth.ErrUnauthorized))
	// Output:
	// alice access <nil>
	// <nil>
	// true
}
