module scrapetarget

go 1.19
