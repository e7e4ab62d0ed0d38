// Command printversion prints version.String(); the package's tests build it
// with and without a link-time version.
package main

import (
	"fmt"

	"github.com/heksher-go/heksher/internal/version"
)

func main() { fmt.Println(version.String()) }
