//go:build !linux

package node

func trimImage() {}
