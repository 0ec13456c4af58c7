package infratest_test

import (
	"encoding/json"
	"fmt"

	"github.com/concertsys/platform/infra/infratest"
)

// Stack tests read synthesized templates as plain JSON and walk them with Get.
func ExampleGet() {
	var tpl map[string]any
	_ = json.Unmarshal([]byte(`{"Resources":{"Log":{"Type":"AWS::DynamoDB::Table",
		"Properties":{"KeySchema":[{"AttributeName":"AggregateId","KeyType":"HASH"}]}}}}`), &tpl)
	fmt.Println(infratest.Get(tpl, "Resources", "Log", "Properties", "KeySchema", 0, "AttributeName"))
	fmt.Println(infratest.Get(tpl, "Resources", "Missing", "Type"))
	// Output:
	// AggregateId
	// <nil>
}

// Policy statements hold one action as a string or several as a list.
func ExampleActions() {
	var doc map[string]any
	_ = json.Unmarshal([]byte(`{"Statement":[{"Action":"events:PutEvents"},
		{"Action":["dynamodb:GetItem","dynamodb:Query"]}]}`), &doc)
	fmt.Println(infratest.Actions(infratest.Get(doc, "Statement", 0)))
	fmt.Println(infratest.Actions(infratest.Get(doc, "Statement", 1)))
	// Output:
	// [events:PutEvents]
	// [dynamodb:GetItem dynamodb:Query]
}
