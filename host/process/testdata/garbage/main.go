// Command garbage is not a plugin: it prints a line that is not a go-plugin
// handshake and exits at once. Built by `make process-plugins`.
package main

import "fmt"

func main() {
	fmt.Println("hello, I am not a plugin")
}
