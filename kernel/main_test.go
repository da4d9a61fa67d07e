package kernel

import (
	"context"
	"flag"
	"fmt"
	"os"
	"testing"

	"github.com/rain-wasm/rain/internal/nodetest"
	"github.com/rain-wasm/rain/session"
)

// testProcessEnv, set to "1", makes this test binary act as the rain binary would: as
// `kernel -f CONN` (the kernelspec the Python tests install runs it so); nodetest.Main makes
// it the session's local nodes.
const testProcessEnv = "RAIN_KERNEL_TEST_PROCESS"

func TestMain(m *testing.M) {
	nodetest.Main() // the sessions' local nodes are this test binary
	if os.Getenv(testProcessEnv) == "1" && len(os.Args) > 1 {
		if err := testProcess(os.Args[1], os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "rain (kernel test binary):", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// testProcess is what cmd/rain does for the kernel command.
func testProcess(cmd string, args []string) error {
	ctx := context.Background()
	switch cmd {
	case "kernel":
		fs := flag.NewFlagSet("kernel", flag.ContinueOnError)
		conn := fs.String("f", "", "connection file")
		if err := fs.Parse(args); err != nil {
			return err
		}
		return Run(ctx, *conn, func(ctx context.Context) (*session.Session, error) {
			return session.New(ctx)
		})
	}
	return fmt.Errorf("unknown command %q", cmd)
}
