module example.com/mpac/svc-smarttab

go 1.19
