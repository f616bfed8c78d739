module tracelabels

go 1.19
