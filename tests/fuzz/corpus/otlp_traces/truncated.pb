
¡


service.name
cart„

trac