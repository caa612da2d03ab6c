"""The gRPC server: servicers, interceptors, model follower. Generated code in serving/_proto."""
