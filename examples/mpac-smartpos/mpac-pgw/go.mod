module example.com/mpac/mpac-pgw

go 1.19
